-- Typed and normalised raw orders with row-level checks.
with

source as (
    select * from {{ source('shop', 'orders') }}
),

typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('ordered_at') }} as ordered_at_raw,
        {{ parse_timestamp_utc('ordered_at') }} as ordered_at,
        {{ clean_text('status', 'lower') }} as status,
        coalesce(
            {{ clean_text('currency', 'upper') }}, '{{ var("default_currency") }}'
        ) as currency,
        {{ clean_text('total_amount') }} as total_amount_raw,
        {{ parse_amount('total_amount') }} as total_amount,
        _source_file,
        _source_row
    from source
),

final as (
    select
        *,
        case
            when order_id is null then 'missing_primary_key'
            when ordered_at_raw is null then 'missing_timestamp'
            when ordered_at is null then 'unparseable_timestamp'
            when status is null or status not in ('completed', 'cancelled', 'refunded')
                then 'invalid_status'
            when total_amount is null then 'invalid_amount'
            when total_amount < 0 then 'negative_amount'
        end as _invalid_reason
    from typed
)

select * from final
