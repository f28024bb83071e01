{{ config(materialized='table') }}

-- One row per accepted event value outside its fence (stg_app__outlier_fences): the event id,
-- the column, the value and the fences. The events themselves stay accepted in stg_app__events,
-- untouched: flags live beside the incremental event tables, never inside them.
with

events as (
    select * from {{ ref('stg_app__events') }}
),

fences as (
    select * from {{ ref('stg_app__outlier_fences') }}
),

final as (
    {{ outlier_flag_rows('events', 'events', 'engaged_seconds', 'event_id', 'event_type') }}
    union all
    {{ outlier_flag_rows('events', 'events', 'scroll_depth_pct', 'event_id', 'event_type') }}
    union all
    {{ outlier_flag_rows('events', 'events', 'revenue', 'event_id', 'event_type') }}
)

select * from final
