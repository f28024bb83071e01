-- Accepted customers with the reason, if any, they must be kept out of everything
-- downstream.
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
        {{ privacy_exclusion_reason(['customer_id'], 'signup_at') }} as exclusion_reason
    from customers
    cross join observation_window
)

select * from checked
