-- Events that everything downstream may use: accepted, consented, not deleted, within as_of.
-- A view: its readers (the identity graph and the stitched events, themselves read by the
-- incremental sessions) each take what they need, and no 10M-row copy is written per build.
{{ config(materialized='view') }}

with

checked as (
    select * from {{ ref('int_events_privacy_checked') }}
),

final as (
    select
        event_id,
        anonymous_id,
        user_id,
        visitor_id,
        event_type,
        event_type_raw,
        occurred_at,
        occurred_date,
        page_url,
        product_id,
        category,
        device_type,
        channel,
        utm_source,
        utm_medium,
        utm_campaign,
        country,
        city,
        scroll_depth_pct,
        engaged_seconds,
        revenue,
        _source_file,
        _source_row
    from checked
    where exclusion_reason is null
)

select * from final
