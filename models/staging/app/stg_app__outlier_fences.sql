{{ config(materialized='table') }}

-- Outlier fences of the events' numeric columns over every accepted event, one row per column
-- and event type (a video's engaged time is not a page view's), with the group's profile:
-- engaged seconds and revenue on the log1p scale (positive, right-skewed), the scroll depth, a
-- percentage staging already bounds to 0-100, on its own scale (see outlier_fences). A table
-- rebuilt by the daily build from the whole accepted history; the fast path and the incremental
-- run neither read nor rebuild it, and stg_app__events gets no flag column, so the incremental
-- event tables are never rewritten for a flag.
with

events as (
    select * from {{ ref('stg_app__events') }}
),

quartiles as (
    {{ outlier_quartiles('events', 'events', 'engaged_seconds', 'log1p', 'event_type') }}
    union all
    {{ outlier_quartiles('events', 'events', 'scroll_depth_pct', 'linear', 'event_type') }}
    union all
    {{ outlier_quartiles('events', 'events', 'revenue', 'log1p', 'event_type') }}
),

final as (
    {{ outlier_fences('quartiles') }}
)

select * from final
