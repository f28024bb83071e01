-- Every id whose data must be kept out because of a deletion request, as raw ids: the requesting
-- id, the user ids seen with a requesting device, the CRM records of the same human (sharing an
-- e-mail or phone match key under the identity guards, or a reviewed merge: the links of
-- int_identity_customer_links, judged here on staged customers, as a deleted record is no
-- longer a permitted one), and every device seen with any of those users (the person behind the
-- request, reached through the events and CRM records it left).
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

customers as (
    select * from {{ ref('stg_crm__customers') }}
    where lower(customer_id) not in ({{ sql_string_list(var('identity_id_blocklist')) }})
),

decisions as (
    select * from {{ ref('identity_match_decisions') }}
    where decision = 'merge'
),

-- the match keys that link CRM records (the guards of int_identity_customer_links)
customer_keys as (
    select
        customer_id,
        'email' as link_type,
        email_match_hash as match_key_hash
    from customers
    where email_match_hash is not null and not is_shared_email
    union all
    select
        customer_id,
        'phone' as link_type,
        phone_match_hash as match_key_hash
    from customers
    where phone_match_hash is not null
),

linking_keys as (
    select
        link_type,
        match_key_hash
    from customer_keys
    group by 1, 2
    having count(*) between 2 and {{ var('identity_max_customers_per_match_key') }}
),

requested as (
    select
        subject_id,
        min(requested_at) as requested_at
    from deletion_requests
    group by 1
),

-- the users of the request: a requested id itself, and the users seen with a requested device
request_users as (
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

-- the CRM records of the same human as a request user
crm_twins as (
    select
        twin.customer_id as user_id,
        request_users.requested_at,
        'linked_identity' as matched_via
    from request_users
    inner join customer_keys as own
        on request_users.user_id = own.customer_id
    inner join linking_keys
        on own.link_type = linking_keys.link_type
            and own.match_key_hash = linking_keys.match_key_hash
    inner join customer_keys as twin
        on own.link_type = twin.link_type
            and own.match_key_hash = twin.match_key_hash
            and own.customer_id <> twin.customer_id
    union all
    select
        case
            when request_users.user_id = decisions.customer_id_a then decisions.customer_id_b
            else decisions.customer_id_a
        end as user_id,
        request_users.requested_at,
        'linked_identity' as matched_via
    from request_users
    inner join decisions
        on request_users.user_id in (decisions.customer_id_a, decisions.customer_id_b)
),

users as (
    select * from request_users
    union all
    select * from crm_twins
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
