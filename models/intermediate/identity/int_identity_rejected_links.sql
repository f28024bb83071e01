-- Links the identity guard refused to merge, with the reason: blocklisted values, anonymous ids
-- shared by more users than identity_max_users_per_anonymous_id, CRM records on a role or test
-- address or on a key shared by more than identity_max_customers_per_match_key records, keys a
-- reviewer kept apart, and links inside a component larger than identity_max_ids_per_person.
-- One row per link_type, anonymous_id, user_id, linked_customer_id and match_key_hash.
with

links as (
    select * from {{ ref('int_identity_links') }}
),

customer_links as (
    select * from {{ ref('int_identity_customer_links') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

oversized_users as (
    select id_value as user_id
    from resolved
    where id_type = 'user_id' and is_in_oversized_cluster
),

device_links as (
    select
        'device_login' as link_type,
        links.anonymous_id,
        links.user_id,
        cast(null as {{ dbt.type_string() }}) as linked_customer_id,
        cast(null as {{ dbt.type_string() }}) as match_key_hash,
        links.first_linked_at,
        links.event_count,
        cast(null as {{ dbt.type_int() }}) as customers_of_key,
        coalesce(
            links.rejection_reason,
            case when oversized_users.user_id is not null then 'oversized_identity_cluster' end
        ) as rejection_reason
    from links
    left join oversized_users
        on links.user_id = oversized_users.user_id
),

crm_links as (
    select
        customer_links.link_type,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        customer_links.customer_id as user_id,
        customer_links.linked_customer_id,
        customer_links.match_key_hash,
        cast(null as {{ dbt.type_timestamp() }}) as first_linked_at,
        cast(null as {{ dbt.type_int() }}) as event_count,
        customer_links.customers_of_key,
        coalesce(
            customer_links.rejection_reason,
            case when oversized_users.user_id is not null then 'oversized_identity_cluster' end
        ) as rejection_reason
    from customer_links
    left join oversized_users
        on customer_links.customer_id = oversized_users.user_id
),

final as (
    select * from device_links
    union all
    select * from crm_links
)

select * from final
where rejection_reason is not null
