-- Accepted behavioural events: typed, UTC, deduplicated by event_id; unknown types as 'other'.
with

triaged as (
    select * from {{ ref('base_app__events_triaged') }}
),

final as (
    select
        event_id,
        anonymous_id,
        user_id,
        coalesce(anonymous_id, user_id) as visitor_id,
        case
            when event_type_raw in ('{{ known_event_types() | join("', '") }}')  -- noqa: LT05
                then event_type_raw
            else 'other'
        end as event_type,
        event_type_raw,
        occurred_at,
        cast(occurred_at as date) as occurred_date,
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
        case when scroll_depth_pct between 0 and 100 then scroll_depth_pct end as scroll_depth_pct,
        case when engaged_seconds >= 0 then engaged_seconds end as engaged_seconds,
        revenue,
        _source_file,
        _source_row
    from triaged
    where quarantine_reason is null
)

select * from final
