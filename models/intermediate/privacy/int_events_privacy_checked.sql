-- Accepted events of subjects without a deletion request, with the reason, if any, they must
-- be kept out of everything downstream for their time: after the observation window. What the
-- identity graph is built from (before consent: a person's decision covers all its ids) and
-- what the real-time window reads (it follows the stream past the end of as_of).
-- Events of deleted subjects are dropped here (counted in int_privacy_exclusions).
{{ config(materialized='view') }}

with

events as (
    select * from {{ ref('stg_app__events') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

checked as (
    select
        events.*,
        {{ privacy_exclusion_reason(
            'events.occurred_at', ['events.anonymous_id', 'events.user_id']
        ) }} as exclusion_reason
    from events
    cross join observation_window
    where
        not coalesce({{ is_deleted_subject('events.anonymous_id') }}, false)
        and not coalesce({{ is_deleted_subject('events.user_id') }}, false)
)

select * from checked
