-- The deletion suppression list, by salted hash only (hash_pii): every id covered by a
-- deletion request (stg_privacy__deletion_ids) and the person id it gave its person, so
-- activation tools can suppress the id and the append-only logs can purge the person's rows
-- (purge_deleted_persons) without any raw id of a deleted person downstream of staging.
-- The deleted customers' e-mail hashes are listed too (id_type 'email', person_hash null), for
-- e-mail tools that match on them.
-- One row per subject_hash, id_type and person_hash.
{{ config(tags=['realtime']) }}

with

deletion_ids as (
    select * from {{ ref('stg_privacy__deletion_ids') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

-- A requested id is checked as both kinds of id: its person id is the one a lone user id or
-- a lone device would lead.
typed as (
    select
        subject_id,
        case when id_type = 'requested' then 'user_id' else id_type end as id_type,
        requested_at,
        matched_via
    from deletion_ids
    union all
    select
        subject_id,
        'anonymous_id' as id_type,
        requested_at,
        matched_via
    from deletion_ids
    where id_type = 'requested'
),

hashed as (
    select
        {{ hash_pii('subject_id') }} as subject_hash,
        id_type,
        case
            when id_type = 'user_id'
                then {{ hash_pii(dbt.hash(identity_node_label('user_id', 'subject_id'))) }}
            else {{ hash_pii(dbt.hash(identity_node_label('anonymous_id', 'subject_id'))) }}
        end as person_hash,
        min(requested_at) as requested_at,
        min(matched_via) as matched_via
    from typed
    group by 1, 2, 3
),

emails as (
    select
        customers.email_hash as subject_hash,
        'email' as id_type,
        cast(null as {{ dbt.type_string() }}) as person_hash,
        min(deletion_ids.requested_at) as requested_at,
        min(deletion_ids.matched_via) as matched_via
    from customers
    inner join deletion_ids
        on customers.customer_id = deletion_ids.subject_id
    where customers.email_hash is not null
    group by 1, 2, 3
),

final as (
    select * from hashed
    union all
    select * from emails
)

select * from final
