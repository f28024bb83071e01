{% macro crm_match_keys(customers) %}
    {#-
        One row per CRM record and match key it holds: customer_id, link_type ('email' or
        'phone'), match_key_hash and is_shared (a role, test or system address). `customers` is
        a relation or CTE with the staging columns email_match_hash, phone_match_hash and
        is_shared_email. The identity graph and the deletion closure read the same keys.
    -#}
    select
        customer_id,
        'email' as link_type,
        email_match_hash as match_key_hash,
        is_shared_email as is_shared
    from {{ customers }}
    where email_match_hash is not null
    union all
    select
        customer_id,
        'phone' as link_type,
        phone_match_hash as match_key_hash,
        false as is_shared
    from {{ customers }}
    where phone_match_hash is not null
{% endmacro %}

{% macro crm_vetoed_keys(decisions, keys) %}
    {#-
        The match keys (link_type, match_key_hash) a reviewed keep_apart pair of `decisions`
        (the seed identity_match_decisions) shares in `keys` (crm_match_keys rows): they link
        none of their records.
    -#}
    select distinct
        side_a.link_type,
        side_a.match_key_hash
    from {{ decisions }}
    inner join {{ keys }} as side_a
        on {{ decisions }}.customer_id_a = side_a.customer_id
    inner join {{ keys }} as side_b
        on {{ decisions }}.customer_id_b = side_b.customer_id
            and side_a.link_type = side_b.link_type
            and side_a.match_key_hash = side_b.match_key_hash
    where {{ decisions }}.decision = 'keep_apart'
{% endmacro %}
