-- Suggested matches for review, never merged: pairs of permitted CRM records that are not one
-- person but share weaker evidence, scored in SQL. Blocking (only pairs inside a block are
-- compared; blocks of more than identity_candidate_max_block_size records are skipped, as a
-- block of n records makes n(n-1)/2 pairs): the same full postal code, birth year and gender
-- (salted postal hash), or a device seen with both (a device with more users than
-- identity_max_users_per_anonymous_id is never linked, so its users land here). The same city
-- adds to the score of a blocked pair but never blocks on its own. score = the sum of the
-- identity_candidate_weights of the evidence; pairs from identity_candidate_min_score are
-- listed, with the reviewed decision of the seed identity_match_decisions (null = pending:
-- add a row there to merge or keep apart). Ids only, no PII.
-- One row per customer_id_a < customer_id_b.
{%- set weights = var('identity_candidate_weights') %}
{%- set max_block = var('identity_candidate_max_block_size') %}

with

customers as (
    select * from {{ ref('int_customers_permitted') }}
    where lower(customer_id) not in ({{ sql_string_list(var('identity_id_blocklist')) }})
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
    where id_type = 'user_id'
),

device_links as (
    select * from {{ ref('int_identity_links') }}
),

decisions as (
    select * from {{ ref('identity_match_decisions') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

household_blocks as (
    select
        customer_id,
        {{ dbt.concat(['postal_match_hash', "'|'", dbt.cast('birth_year', dbt.type_string()),
                       "'|'", 'gender']) }} as block_key
    from customers
    where postal_match_hash is not null and birth_year is not null and gender is not null
),

household_pairs as (
    select
        side_a.customer_id as customer_id_a,
        side_b.customer_id as customer_id_b,
        'postal_birth_year_gender' as evidence
    from (
        select
            customer_id,
            block_key,
            count(*) over (partition by block_key) as block_size
        from household_blocks
    ) as side_a
    inner join household_blocks as side_b
        on side_a.block_key = side_b.block_key
            and side_a.customer_id < side_b.customer_id
    where side_a.block_size <= {{ max_block }}
),

device_customers as (
    select
        device_links.anonymous_id,
        device_links.user_id as customer_id,
        count(*) over (partition by device_links.anonymous_id) as block_size
    from device_links
    inner join customers
        on device_links.user_id = customers.customer_id
    where lower(device_links.anonymous_id)
        not in ({{ sql_string_list(var('identity_id_blocklist')) }})
),

device_pairs as (
    select distinct
        side_a.customer_id as customer_id_a,
        side_b.customer_id as customer_id_b,
        'shared_device' as evidence
    from device_customers as side_a
    inner join device_customers as side_b
        on side_a.anonymous_id = side_b.anonymous_id
            and side_a.customer_id < side_b.customer_id
    where side_a.block_size <= {{ max_block }}
),

blocked_pairs as (
    select * from household_pairs
    union all
    select * from device_pairs
),

evidence as (
    select
        customer_id_a,
        customer_id_b,
        max(case when evidence = 'postal_birth_year_gender' then 1 else 0 end)
        = 1 as has_postal_birth_year_gender,
        max(case when evidence = 'shared_device' then 1 else 0 end)
        = 1 as has_shared_device
    from blocked_pairs
    group by 1, 2
),

scored as (
    select
        evidence.customer_id_a,
        evidence.customer_id_b,
        resolved_a.person_id as person_id_a,
        resolved_b.person_id as person_id_b,
        evidence.has_postal_birth_year_gender,
        evidence.has_shared_device,
        coalesce(customer_a.city = customer_b.city, false) as has_same_city,
        (case when evidence.has_postal_birth_year_gender
                then {{ weights['postal_birth_year_gender'] }}
            else 0
        end)
        + (case when evidence.has_shared_device then {{ weights['shared_device'] }} else 0 end)
        + (case when coalesce(customer_a.city = customer_b.city, false)
                then {{ weights['same_city'] }}
            else 0
        end) as raw_score
    from evidence
    inner join customers as customer_a
        on evidence.customer_id_a = customer_a.customer_id
    inner join customers as customer_b
        on evidence.customer_id_b = customer_b.customer_id
    inner join resolved as resolved_a
        on evidence.customer_id_a = resolved_a.id_value
    inner join resolved as resolved_b
        on evidence.customer_id_b = resolved_b.id_value
    where resolved_a.person_id <> resolved_b.person_id
),

final as (
    select
        scored.customer_id_a,
        scored.customer_id_b,
        scored.person_id_a,
        scored.person_id_b,
        cast(scored.raw_score as decimal(6, 3)) as score,
        {{ dbt.concat([
            "case when scored.has_postal_birth_year_gender then 'postal_birth_year_gender ' else '' end",
            "case when scored.has_shared_device then 'shared_device ' else '' end",
            "case when scored.has_same_city then 'same_city' else '' end"
        ]) }} as evidence_raw,
        scored.has_postal_birth_year_gender,
        scored.has_shared_device,
        scored.has_same_city,
        decisions.decision,
        observation_window.observation_end_at as scored_at
    from scored
    cross join observation_window
    left join decisions
        on scored.customer_id_a = decisions.customer_id_a
            and scored.customer_id_b = decisions.customer_id_b
    where scored.raw_score >= {{ var('identity_candidate_min_score') }}
)

select
    customer_id_a,
    customer_id_b,
    person_id_a,
    person_id_b,
    score,
    has_postal_birth_year_gender,
    has_shared_device,
    has_same_city,
    decision,
    scored_at,
    replace(trim(evidence_raw), ' ', ',') as evidence
from final
