-- Accepted order lines with the reason, if any, they must be kept out of everything
-- downstream: their order is not a permitted order (deleted customer, after as_of, or no
-- accepted order with that id at all).
{{ config(materialized='view') }}

with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
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
    left join orders
        on order_items.order_id = orders.order_id
)

select * from checked
