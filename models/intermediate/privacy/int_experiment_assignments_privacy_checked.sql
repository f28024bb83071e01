-- Accepted experiment_assignments of subjects without a deletion request, with the reason,
-- if any, they must be kept out of everything downstream (after the observation
-- window). Rows of deleted subjects are dropped here (counted in int_privacy_exclusions).
{{ config(materialized='view') }}

with

experiment_assignments as (
    select * from {{ ref('stg_app__experiment_assignments') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

checked as (
    select
        experiment_assignments.*,
        {{ privacy_exclusion_reason(
            'experiment_assignments.assigned_at', ['experiment_assignments.subject_id']
        ) }} as exclusion_reason
    from experiment_assignments
    cross join observation_window
    where not coalesce({{ is_deleted_subject('experiment_assignments.subject_id') }}, false)
)

select * from checked
