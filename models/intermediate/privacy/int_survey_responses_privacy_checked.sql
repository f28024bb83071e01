-- Accepted survey_responses of subjects without a deletion request, with the reason,
-- if any, they must be kept out of everything downstream (after the observation
-- window). Rows of deleted subjects are dropped here (counted in int_privacy_exclusions).
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
        {{ privacy_exclusion_reason(
            'survey_responses.responded_at', ['survey_responses.customer_id']
        ) }} as exclusion_reason
    from survey_responses
    cross join observation_window
    where not coalesce({{ is_deleted_subject('survey_responses.customer_id') }}, false)
)

select * from checked
