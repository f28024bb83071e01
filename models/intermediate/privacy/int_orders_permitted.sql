-- orders that everything downstream may use: accepted, not deleted, within as_of. is_outlier
-- marks an order whose total lies outside the outlier fence of its currency
-- (stg_shop__outlier_flags): it is used like any other order, and a model that treats flagged
-- orders apart says so (segment_summary.average_order_value_without_outliers; customer_features
-- reads winsorised_total_amount, the total clipped to the fence it crossed).
with

checked as (
    select * from {{ ref('int_orders_privacy_checked') }}
),

outlier_orders as (
    select
        row_key as order_id,
        min(case when outlier_side = 'high' then upper_fence end) as upper_fence,
        max(case when outlier_side = 'low' then lower_fence end) as lower_fence
    from {{ ref('stg_shop__outlier_flags') }}
    where source_table = 'orders' and column_name = 'total_amount'
    group by 1
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
        cast(
            case
                when outlier_orders.upper_fence is not null then outlier_orders.upper_fence
                when outlier_orders.lower_fence is not null then outlier_orders.lower_fence
                else checked.total_amount
            end as decimal(18, 2)
        ) as winsorised_total_amount,
        outlier_orders.order_id is not null as is_outlier
    from checked
    left join outlier_orders
        on checked.order_id = outlier_orders.order_id
    where checked.exclusion_reason is null
)

select * from final
