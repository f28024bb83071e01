-- Who activation tools must never contact, by salted hash only (hash_pii, the salt of
-- SEGMENTS_PII_SALT): every id (user ids, devices) and customer e-mail hash of a person whose
-- latest marketing decision is a refusal (int_person_consents: a decision, or the default of an
-- opt-in region), and every id covered by a deletion request (int_privacy_deleted_subjects).
-- Tools hash their own ids the same way (lower-case, trimmed, salt prefixed, SHA-256 hex) and
-- drop matches from audiences and sends; no feed of the project holds these persons.
-- One row per subject_hash and purpose.
{{ config(tags=['realtime']) }}

with

consents as (
    select * from {{ ref('int_person_consents') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

person_customers as (
    select * from {{ ref('int_person_customers') }}
),

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

deleted as (
    select * from {{ ref('int_privacy_deleted_subjects') }}
),

refused as (
    select
        person_id,
        latest_subject_id,
        is_in_identity_graph,
        case when is_default then 'region_default_refused' else 'marketing_refused' end
            as reason,
        coalesce(latest_decided_at, decided_at) as suppressed_since
    from consents
    where purpose = 'marketing' and not is_granted_latest
),

refused_ids as (
    select
        {{ hash_pii('resolved.id_value') }} as subject_hash,
        resolved.id_type,
        refused.reason,
        refused.suppressed_since
    from refused
    inner join resolved
        on refused.person_id = resolved.person_id
    union all
    -- a consent subject the identity graph has not met: the deciding id itself
    select
        {{ hash_pii('refused.latest_subject_id') }} as subject_hash,
        'consent_subject' as id_type,
        refused.reason,
        refused.suppressed_since
    from refused
    where not refused.is_in_identity_graph and refused.latest_subject_id is not null
    union all
    -- the e-mail of every CRM record of the person, not only the primary one's
    select
        customers.email_hash as subject_hash,
        'email' as id_type,
        refused.reason,
        refused.suppressed_since
    from refused
    inner join person_customers
        on refused.person_id = person_customers.person_id
    inner join customers
        on person_customers.customer_id = customers.customer_id
    where customers.email_hash is not null
),

marketing as (
    select
        subject_hash,
        'marketing' as purpose,
        min(id_type) as id_type,
        min(reason) as reason,
        min(suppressed_since) as suppressed_since
    from refused_ids
    group by 1
),

deletion as (
    select
        subject_hash,
        'deletion' as purpose,
        min(id_type) as id_type,
        'deletion_request' as reason,
        min(requested_at) as suppressed_since
    from deleted
    group by 1
),

final as (
    select * from marketing
    union all
    select * from deletion
)

select * from final
