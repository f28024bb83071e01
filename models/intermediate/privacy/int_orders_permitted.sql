-- orders that everything downstream may use: accepted, not deleted, within as_of. is_outlier
-- marks an order whose total lies outside the outlier fence of its currency
-- (stg_shop__outlier_flags): it is used like any other order, and a model that treats flagged
-- orders apart says so (segment_summary.average_order_value_without_outliers).
with

checked as (
    select * from {{ ref('int_orders_privacy_checked') }}
),

outlier_orders as (
    select distinct row_key as order_id
    from {{ ref('stg_shop__outlier_flags') }}
    where source_table = 'orders'
),

final as (
    select
        checked.order_id,
        checked.customer_id,
        checked.is_guest,
        checked.ordered_at,
        checked.ordered_date,
        checked.status,
        checked.currency,
        checked.total_amount,
        outlier_orders.order_id is not null as is_outlier
    from checked
    left join outlier_orders
        on checked.order_id = outlier_orders.order_id
    where checked.exclusion_reason is null
)

select * from final
