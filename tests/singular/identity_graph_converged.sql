-- Every accepted identity link joins ids of one and the same person: if label propagation
-- needed more than identity_max_hops rounds, some link would still span two persons and this
-- test fails (raise identity_max_hops). Links inside oversized clusters are left unmerged.
select
    links.anonymous_id,
    links.user_id,
    anonymous_side.person_id as anonymous_person_id,
    user_side.person_id as user_person_id
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
