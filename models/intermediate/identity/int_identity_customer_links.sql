-- Links between CRM customer records of one human: records sharing an e-mail match key or an
-- E.164 phone key (salted hashes from staging), and the pairs a reviewer decided to merge (seed
-- identity_match_decisions), each with the guard's verdict (rejection_reason null = accepted):
-- blocklisted ids, role/test/system addresses and test domains, keys shared by more than
-- identity_max_customers_per_match_key records, and keys a reviewed 'keep_apart' pair shares.
-- A key links its records as a star: every record to the key's smallest customer id.
-- One row per link_type, match_key_hash (null for reviewed merges), customer_id and
-- linked_customer_id.
{%- set blocklist = sql_string_list(var('identity_id_blocklist')) %}

with

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

decisions as (
    select * from {{ ref('identity_match_decisions') }}
),

match_keys as (
    {{ crm_match_keys('customers') }}
),

keyed as (
    select
        customer_id,
        link_type,
        match_key_hash,
        lower(customer_id) in ({{ blocklist }}) as is_blocklisted,
        count(*) over (partition by link_type, match_key_hash) as customers_of_key,
        -- a key is shared when any of its records is a role, test or system address
        max(case when is_shared then 1 else 0 end)
            over (partition by link_type, match_key_hash)
        = 1 as is_shared_key,
        min(case when lower(customer_id) not in ({{ blocklist }}) then customer_id end)
            over (partition by link_type, match_key_hash) as anchor_customer_id
    from match_keys
),

-- a reviewed keep_apart pair vetoes every key the two records share
vetoed_keys as (
    {{ crm_vetoed_keys('decisions', 'keyed') }}
),

key_links as (
    select
        keyed.link_type,
        keyed.match_key_hash,
        keyed.customer_id,
        keyed.anchor_customer_id as linked_customer_id,
        keyed.customers_of_key,
        case
            when keyed.is_blocklisted then 'blocklisted_id'
            when keyed.is_shared_key then 'shared_email_address'
            when keyed.customers_of_key > {{ var('identity_max_customers_per_match_key') }}
                then {{ dbt.concat(["'shared_'", 'keyed.link_type']) }}
            when vetoed_keys.match_key_hash is not null then 'reviewed_keep_apart'
        end as rejection_reason
    from keyed
    left join vetoed_keys
        on keyed.link_type = vetoed_keys.link_type
            and keyed.match_key_hash = vetoed_keys.match_key_hash
    where keyed.customers_of_key > 1
        and keyed.customer_id <> coalesce(keyed.anchor_customer_id, '')
),

-- reviewed merges: both ids must be permitted customers, so a deleted id never re-enters
reviewed_links as (
    select
        'reviewed_merge' as link_type,
        cast(null as {{ dbt.type_string() }}) as match_key_hash,
        decisions.customer_id_b as customer_id,
        decisions.customer_id_a as linked_customer_id,
        2 as customers_of_key,
        case
            when lower(decisions.customer_id_a) in ({{ blocklist }})
                or lower(decisions.customer_id_b) in ({{ blocklist }})
                then 'blocklisted_id'
        end as rejection_reason
    from decisions
    inner join customers as customer_a
        on decisions.customer_id_a = customer_a.customer_id
    inner join customers as customer_b
        on decisions.customer_id_b = customer_b.customer_id
    where decisions.decision = 'merge'
),

final as (
    select * from key_links
    union all
    select * from reviewed_links
)

select * from final
