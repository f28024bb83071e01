-- Typed and normalised raw events with the row-level checks that need no other table.
with

source as (
    select * from {{ source('app', 'events') }}
),

typed as (
    select
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('anonymous_id') }} as anonymous_id,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('event_type', 'lower') }} as event_type_raw,
        {{ clean_text('occurred_at') }} as occurred_at_raw,
        {{ parse_timestamp_utc('occurred_at') }} as occurred_at,
        {{ clean_text('page_url') }} as page_url,
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('category', 'lower') }} as category,
        {{ clean_text('device_type', 'lower') }} as device_type,
        {{ clean_text('channel', 'lower') }} as channel,
        {{ clean_text('utm_source', 'lower') }} as utm_source,
        {{ clean_text('utm_medium', 'lower') }} as utm_medium,
        {{ clean_text('utm_campaign', 'lower') }} as utm_campaign,
        {{ clean_text('country', 'upper') }} as country,
        {{ clean_text('city') }} as city,
        {{ dbt.safe_cast('trim(scroll_depth_pct)', dbt.type_float()) }} as scroll_depth_pct,
        {{ dbt.safe_cast('trim(engaged_seconds)', dbt.type_float()) }} as engaged_seconds,
        {{ parse_amount('revenue') }} as revenue,
        _source_file,
        _source_row
    from source
),

final as (
    select
        *,
        case
            when event_id is null then 'missing_primary_key'
            when occurred_at_raw is null then 'missing_timestamp'
            when occurred_at is null then 'unparseable_timestamp'
            when anonymous_id is null and user_id is null then 'missing_visitor_id'
        end as _invalid_reason
    from typed
)

select * from final
