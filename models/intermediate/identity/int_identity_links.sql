-- Every distinct link between an anonymous id and a user id seen on the same event, with the
-- guard's verdict: blocklisted values and anonymous ids shared by too many users are rejected
-- (reported, never merged). One row per anonymous_id and user_id.
with

-- before consent: a decision on one id covers the person its links make
events as (
    select * from {{ ref('int_events_privacy_checked') }}
    where exclusion_reason is null
),

pairs as (
    select
        anonymous_id,
        user_id,
        min(occurred_at) as first_linked_at,
        count(*) as event_count
    from events
    where anonymous_id is not null and user_id is not null
    group by 1, 2
),

users_per_anonymous_id as (
    select
        anonymous_id,
        count(*) as user_count
    from pairs
    group by 1
),

final as (
    select
        pairs.anonymous_id,
        pairs.user_id,
        pairs.first_linked_at,
        pairs.event_count,
        users_per_anonymous_id.user_count as users_of_anonymous_id,
        case
            when lower(pairs.anonymous_id) in ({{ sql_string_list(var('identity_id_blocklist')) }})
                or lower(pairs.user_id) in ({{ sql_string_list(var('identity_id_blocklist')) }})
                then 'blocklisted_id'
            when users_per_anonymous_id.user_count
                > {{ var('identity_max_users_per_anonymous_id') }}
                then 'shared_anonymous_id'
        end as rejection_reason
    from pairs
    inner join users_per_anonymous_id
        on pairs.anonymous_id = users_per_anonymous_id.anonymous_id
)

select * from final
