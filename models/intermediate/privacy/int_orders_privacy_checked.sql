-- Accepted orders with the reason, if any, they must be kept out of everything
-- downstream.
{{ config(materialized='view') }}

with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

checked as (
    select
        orders.*,
        {{ privacy_exclusion_reason(['customer_id'], 'ordered_at') }} as exclusion_reason
    from orders
    cross join observation_window
)

select * from checked
