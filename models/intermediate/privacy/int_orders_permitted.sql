-- orders that everything downstream may use: accepted, not deleted, within as_of.
with

checked as (
    select * from {{ ref('int_orders_privacy_checked') }}
),

final as (
    select
        order_id,
        customer_id,
        is_guest,
        ordered_at,
        ordered_date,
        status,
        currency,
        total_amount
    from checked
    where exclusion_reason is null
)

select * from final
