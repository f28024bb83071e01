-- Every identifier whose data must be kept out because of a deletion request: the requesting
-- subject itself, and the ids seen together with it on the same event (a device of a deleted
-- customer, or the customer behind a deleted device id).
with

deletion_requests as (
    select * from {{ ref('stg_privacy__deletion_requests') }}
),

events as (
    select * from {{ ref('stg_app__events') }}
),

requested as (
    select
        subject_id,
        requested_at,
        'request' as matched_via
    from deletion_requests
),

linked_anonymous_ids as (
    select distinct
        events.anonymous_id as subject_id,
        requested.requested_at,
        'linked_identity' as matched_via
    from events
    inner join requested
        on events.user_id = requested.subject_id
    where events.anonymous_id is not null
),

linked_user_ids as (
    select distinct
        events.user_id as subject_id,
        requested.requested_at,
        'linked_identity' as matched_via
    from events
    inner join requested
        on events.anonymous_id = requested.subject_id
    where events.user_id is not null
),

all_matches as (
    select * from requested
    union all
    select * from linked_anonymous_ids
    union all
    select * from linked_user_ids
),

final as (
    select
        subject_id,
        min(requested_at) as requested_at,
        min(matched_via) as matched_via
    from all_matches
    group by subject_id
)

select * from final
