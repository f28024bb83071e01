-- Accepted customers of subjects without a deletion request, with the reason, if any, they must
-- be kept out of everything downstream (after the observation window). Rows of deleted
-- subjects are dropped here (counted in int_privacy_exclusions).
{{ config(materialized='view') }}

with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

checked as (
    select
        customers.*,
        {{ privacy_exclusion_reason(
            'customers.signup_at', ['customers.customer_id']
        ) }} as exclusion_reason
    from customers
    cross join observation_window
    where not coalesce({{ is_deleted_subject('customers.customer_id') }}, false)
)

select * from checked
