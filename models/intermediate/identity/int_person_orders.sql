-- Every permitted order with the person its customer id resolves to (int_person_customers): the
-- orders person-level models combine, so the orders of all the CRM records of one human count
-- for that human. Orders without a customer id (or of a blocklisted one) have no person and are
-- not here. One row per order_id.
{{ config(materialized='view') }}

with

orders as (
    select * from {{ ref('int_orders_permitted') }}
),

person_customers as (
    select * from {{ ref('int_person_customers') }}
),

final as (
    select
        orders.*,
        person_customers.person_id
    from orders
    inner join person_customers
        on orders.customer_id = person_customers.customer_id
)

select * from final
