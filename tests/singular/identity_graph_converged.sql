-- Every accepted identity link joins ids of one and the same person: if label propagation
-- needed more than identity_max_hops rounds, some link would still span two persons and this
-- test fails (raise identity_max_hops). Device links and CRM record links alike; links inside
-- oversized clusters are left unmerged.
select
    'device_login' as link_type,
    links.anonymous_id as id_a,
    links.user_id as id_b,
    anonymous_side.person_id as person_id_a,
    user_side.person_id as person_id_b
from {{ ref('int_identity_links') }} as links
inner join {{ ref('int_identity_resolved') }} as anonymous_side
    on
        links.anonymous_id = anonymous_side.id_value
        and anonymous_side.id_type = 'anonymous_id'
inner join {{ ref('int_identity_resolved') }} as user_side
    on
        links.user_id = user_side.id_value
        and user_side.id_type = 'user_id'
where
    links.rejection_reason is null
    and not anonymous_side.is_in_oversized_cluster
    and anonymous_side.person_id <> user_side.person_id
union all
select
    customer_links.link_type,
    customer_links.customer_id as id_a,
    customer_links.linked_customer_id as id_b,
    side_a.person_id as person_id_a,
    side_b.person_id as person_id_b
from {{ ref('int_identity_customer_links') }} as customer_links
inner join {{ ref('int_identity_resolved') }} as side_a
    on
        customer_links.customer_id = side_a.id_value
        and side_a.id_type = 'user_id'
inner join {{ ref('int_identity_resolved') }} as side_b
    on
        customer_links.linked_customer_id = side_b.id_value
        and side_b.id_type = 'user_id'
where
    customer_links.rejection_reason is null
    and not side_a.is_in_oversized_cluster
    and side_a.person_id <> side_b.person_id
