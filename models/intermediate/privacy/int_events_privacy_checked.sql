-- Accepted events with the reason, if any, they must be kept out of everything downstream:
-- a deletion request, no analytics consent, or a time after the observation window.
{{ config(materialized='view') }}

with

events as (
    select * from {{ ref('stg_app__events') }}
),

deleted_subjects as (
    select * from {{ ref('int_privacy_deleted_subjects') }}
),

analytics_consents as (
    select * from {{ ref('int_consents_resolved') }}
    where purpose = 'analytics'
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

checked as (
    select
        events.*,
        case
            when deleted_anonymous.subject_id is not null
                or deleted_user.subject_id is not null
                then 'deletion_request'
            when consent_anonymous.is_granted = false
                or consent_user.is_granted = false
                then 'analytics_consent_refused'
            when consent_anonymous.subject_id is null
                and consent_user.subject_id is null
                and not {{ var('analytics_consent_default') }}
                then 'no_analytics_consent'
            when events.occurred_at >= observation_window.observation_end_at
                then 'after_observation_window'
        end as exclusion_reason
    from events
    cross join observation_window
    left join deleted_subjects as deleted_anonymous
        on events.anonymous_id = deleted_anonymous.subject_id
    left join deleted_subjects as deleted_user
        on events.user_id = deleted_user.subject_id
    left join analytics_consents as consent_anonymous
        on events.anonymous_id = consent_anonymous.subject_id
    left join analytics_consents as consent_user
        on events.user_id = consent_user.subject_id
)

select * from checked
