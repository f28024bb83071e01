-- Order lines that everything downstream may use: lines of permitted orders.
with

checked as (
    select * from {{ ref('int_order_items_privacy_checked') }}
),

final as (
    select
        order_id,
        product_id,
        quantity,
        unit_price,
        line_amount
    from checked
    where exclusion_reason is null
)

select * from final
