-- Permitted events with the person they belong to: the person of the event's user id when it
-- has one (authoritative), else the person of its anonymous id. Events whose only id is
-- blocklisted have no person. One row per event_id.
-- A view: int_events_sessionized (incremental) reads it for the visitors whose events changed.
{{ config(materialized='view') }}

with

events as (
    select * from {{ ref('int_events_permitted') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

final as (
    select
        events.*,
        coalesce(by_user.person_id, by_anonymous_id.person_id) as person_id,
        coalesce(by_user.customer_id, by_anonymous_id.customer_id) as customer_id
    from events
    left join resolved as by_user
        on
            events.user_id = by_user.id_value
            and by_user.id_type = 'user_id'
    left join resolved as by_anonymous_id
        on
            events.anonymous_id = by_anonymous_id.id_value
            and by_anonymous_id.id_type = 'anonymous_id'
)

select * from final
