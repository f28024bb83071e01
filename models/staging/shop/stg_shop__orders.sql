-- Accepted orders: typed, UTC, normalised status and currency, deduplicated by order_id.
with

triaged as (
    select * from {{ ref('base_shop__orders_triaged') }}
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        status,
        currency,
        total_amount,
        _source_file,
        _source_row,
        cast(ordered_at as date) as ordered_date,
        customer_id is null as is_guest
    from triaged
    where quarantine_reason is null
)

select * from final
