-- Accepted survey_responses with the reason, if any, they must be kept out of everything
-- downstream.
{{ config(materialized='view') }}

with

survey_responses as (
    select * from {{ ref('stg_crm__survey_responses') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

checked as (
    select
        survey_responses.*,
        {{ privacy_exclusion_reason(['customer_id'], 'responded_at') }} as exclusion_reason
    from survey_responses
    cross join observation_window
)

select * from checked
