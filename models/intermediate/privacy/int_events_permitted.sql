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
        stitched.event_id,
        stitched.anonymous_id,
        stitched.user_id,
        stitched.visitor_id,
        stitched.event_type,
        stitched.event_type_raw,
        stitched.occurred_at,
        stitched.occurred_date,
        stitched.page_url,
        stitched.product_id,
        stitched.category,
        stitched.device_type,
        stitched.channel,
        stitched.utm_source,
        stitched.utm_medium,
        stitched.utm_campaign,
        stitched.country,
        stitched.city,
        stitched.scroll_depth_pct,
        stitched.engaged_seconds,
        stitched.revenue,
        stitched._source_file,
        stitched._source_row,
        stitched.person_id,
        stitched.customer_id
    from stitched
    where exclusion_reason is null
)

select * from final
