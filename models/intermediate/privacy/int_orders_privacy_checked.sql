-- Accepted orders of subjects without a deletion request, with the reason, if any, they must
-- be kept out of everything downstream (after the observation window, an internal account's,
-- a test order). Rows of deleted
-- subjects are dropped here (counted in int_privacy_exclusions).
{{ config(materialized='view') }}

with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

-- test orders (seed internal_account_patterns: a listed order id prefix)
test_orders as (
    select distinct orders.order_id
    from orders
    inner join {{ ref('internal_account_patterns') }} as patterns
        on patterns.pattern_type = 'order_id_prefix'
            and left(orders.order_id, length(patterns.pattern)) = patterns.pattern
),

checked as (
    select
        orders.*,
        coalesce(
            {{ privacy_exclusion_reason('orders.ordered_at', ['orders.customer_id']) }},
            case when test_orders.order_id is not null then 'test_order' end
        ) as exclusion_reason
    from orders
    cross join observation_window
    left join test_orders
        on orders.order_id = test_orders.order_id
    where not coalesce({{ is_deleted_subject('orders.customer_id') }}, false)
)

select * from checked
