-- Accepted orders of subjects without a deletion request, with the reason, if any, they must
-- be kept out of everything downstream (after the observation window). Rows of deleted
-- subjects are dropped here (counted in int_privacy_exclusions).
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
        {{ privacy_exclusion_reason('orders.ordered_at') }} as exclusion_reason
    from orders
    cross join observation_window
    where not coalesce({{ is_deleted_subject('orders.customer_id') }}, false)
)

select * from checked
