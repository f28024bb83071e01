-- Links the identity guard refused to merge, with the reason: blocklisted values, anonymous ids
-- shared by more users than identity_max_users_per_anonymous_id, and links inside a component
-- larger than identity_max_ids_per_person. One row per anonymous_id and user_id.
with

links as (
    select * from {{ ref('int_identity_links') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

oversized_users as (
    select id_value as user_id
    from resolved
    where id_type = 'user_id' and is_in_oversized_cluster
),

final as (
    select
        links.anonymous_id,
        links.user_id,
        links.first_linked_at,
        links.event_count,
        coalesce(
            links.rejection_reason,
            case when oversized_users.user_id is not null then 'oversized_identity_cluster' end
        ) as rejection_reason
    from links
    left join oversized_users
        on links.user_id = oversized_users.user_id
)

select * from final
where rejection_reason is not null
