-- Events that everything downstream may use: accepted, not deleted, within as_of, and of a person
-- whose analytics consent is in force (int_events_consent_checked), with the person they belong
-- to. One row per event_id.
-- A view: its readers (the incremental sessions) each take what they need, and no 10M-row copy
-- is written per build.
{{ config(materialized='view') }}

with

stitched as (
    select * from {{ ref('int_events_consent_checked') }}
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
        _source_row,
        person_id,
        customer_id
    from stitched
    where exclusion_reason is null
)

select * from final
