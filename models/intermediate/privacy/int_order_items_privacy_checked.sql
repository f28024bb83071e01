-- Accepted order lines with the reason, if any, they must be kept out of everything
-- downstream: their order is not a permitted order (after as_of, or no accepted order with that
-- id at all). Lines of an order of a deleted customer are dropped here (counted in
-- int_privacy_exclusions).
{{ config(materialized='view') }}

with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

accepted_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

orders as (
    select * from {{ ref('int_orders_privacy_checked') }}
),

checked as (
    select
        order_items.*,
        case
            when orders.order_id is null then 'order_not_accepted'
            else orders.exclusion_reason
        end as exclusion_reason
    from order_items
    left join accepted_orders
        on order_items.order_id = accepted_orders.order_id
    left join orders
        on order_items.order_id = orders.order_id
    where not coalesce({{ is_deleted_subject('accepted_orders.customer_id') }}, false)
)

select * from checked
