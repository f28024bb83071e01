-- Accepted order lines, one row per order and product.
with

triaged as (
    select * from {{ ref('base_shop__order_items_triaged') }}
),

final as (
    select
        order_id,
        product_id,
        quantity,
        unit_price,
        cast(quantity * unit_price as decimal(18, 2)) as line_amount,
        _source_file,
        _source_row
    from triaged
    where quarantine_reason is null
)

select * from final
