-- Accepted experiment_assignments with the reason, if any, they must be kept out of everything
-- downstream.
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
        {{ privacy_exclusion_reason(['subject_id'], 'assigned_at') }} as exclusion_reason
    from experiment_assignments
    cross join observation_window
)

select * from checked
