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

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

-- the CRM records the identity graph may link (int_customers_permitted before deletions)
customers as (
    select customers.*
    from {{ ref('stg_crm__customers') }} as customers
    cross join observation_window
    where customers.signup_at < observation_window.observation_end_at
),

decisions as (
    select * from {{ ref('identity_match_decisions') }}
),

-- the match keys that link CRM records, under the guards of int_identity_customer_links: not a
-- shared address, 2 to identity_max_customers_per_match_key records (blocklisted ones count),
-- no reviewed keep_apart pair on the key
customer_keys as (
    {{ crm_match_keys('customers') }}
),

vetoed_keys as (
    {{ crm_vetoed_keys('decisions', 'customer_keys') }}
),

linking_keys as (
    select
        customer_keys.link_type,
        customer_keys.match_key_hash
    from customer_keys
    left join vetoed_keys
        on customer_keys.link_type = vetoed_keys.link_type
            and customer_keys.match_key_hash = vetoed_keys.match_key_hash
    where vetoed_keys.match_key_hash is null
    group by 1, 2
    having count(*) between 2 and {{ var('identity_max_customers_per_match_key') }}
        and max(case when customer_keys.is_shared then 1 else 0 end) = 0
),

-- both directions of every CRM link between two non-blocklisted records
crm_edges as (
    select
        own.customer_id,
        twin.customer_id as linked_customer_id
    from customer_keys as own
    inner join linking_keys
        on own.link_type = linking_keys.link_type
            and own.match_key_hash = linking_keys.match_key_hash
    inner join customer_keys as twin
        on own.link_type = twin.link_type
            and own.match_key_hash = twin.match_key_hash
            and own.customer_id <> twin.customer_id
    union all
    select
        customer_id_a as customer_id,
        customer_id_b as linked_customer_id
    from decisions
    where decision = 'merge'
    union all
    select
        customer_id_b as customer_id,
        customer_id_a as linked_customer_id
    from decisions
    where decision = 'merge'
),

crm_links as (
    select distinct
        customer_id,
        linked_customer_id
    from crm_edges
    where lower(customer_id) not in ({{ sql_string_list(var('identity_id_blocklist')) }})
        and lower(linked_customer_id)
        not in ({{ sql_string_list(var('identity_id_blocklist')) }})
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

-- the CRM records of the same human as a request user: every record its CRM links reach, in up
-- to identity_max_hops steps (a twin of a twin is the same human too)
reach_0 as (
    select
        user_id,
        requested_at
    from request_users
),
-- noqa: disable=LT02
{% for hop in range(1, var('identity_max_hops') | int + 1) %}
reach_{{ hop }} as (
    select
        user_id,
        min(requested_at) as requested_at
    from (
        select * from reach_{{ hop - 1 }}
        union all
        select
            crm_links.linked_customer_id as user_id,
            reach_{{ hop - 1 }}.requested_at
        from reach_{{ hop - 1 }}
        inner join crm_links
            on reach_{{ hop - 1 }}.user_id = crm_links.customer_id
    ) as reached
    group by 1
),
{% endfor %}
-- noqa: enable=LT02

crm_twins as (
    select
        reached.user_id,
        reached.requested_at,
        'linked_identity' as matched_via
    from reach_{{ var('identity_max_hops') | int }} as reached
    left join request_users
        on reached.user_id = request_users.user_id
    where request_users.user_id is null
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
