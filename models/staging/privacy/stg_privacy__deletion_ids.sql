-- Every id whose data must be kept out because of a deletion request, as raw ids: the requesting
-- id, the user ids seen with a requesting device, and every device seen with a requesting or
-- such a user (the person behind the request, reached through the events it left).
-- A small staging table: the privacy layer drops every row of these ids (is_deleted_subject) and
-- hashes them into the suppression list (int_privacy_deleted_subjects), so no model downstream
-- of staging keeps a raw id of a deleted person. Rebuilt by the fast path too (a deletion that
-- lands in a new file counts at the next run).
-- One row per subject_id and id_type ('user_id', 'anonymous_id', or 'requested' for a requested
-- id, whatever ids it matches).
{{ config(materialized='table', tags=['realtime']) }}

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
        min(requested_at) as requested_at
    from deletion_requests
    group by 1
),

-- the users of the request: a requested id itself, and the users seen with a requested device
users as (
    select
        subject_id as user_id,
        requested_at,
        'request' as matched_via
    from requested
    union all
    select
        events.user_id,
        requested.requested_at,
        'linked_identity' as matched_via
    from events
    inner join requested
        on events.anonymous_id = requested.subject_id
    where events.user_id is not null
),

-- every device seen with one of those users
devices as (
    select
        events.anonymous_id,
        users.requested_at,
        'linked_identity' as matched_via
    from events
    inner join users
        on events.user_id = users.user_id
    where events.anonymous_id is not null
),

all_ids as (
    select
        subject_id,
        'requested' as id_type,
        requested_at,
        'request' as matched_via
    from requested
    union all
    select
        user_id as subject_id,
        'user_id' as id_type,
        requested_at,
        matched_via
    from users
    where matched_via = 'linked_identity'
    union all
    select
        anonymous_id as subject_id,
        'anonymous_id' as id_type,
        requested_at,
        matched_via
    from devices
),

final as (
    select
        subject_id,
        id_type,
        min(requested_at) as requested_at,
        max(matched_via) as matched_via
    from all_ids
    group by 1, 2
)

select * from final
