-- Who is in which audience, with the match keys its destination takes: one row per audience,
-- person and match key (long form: a person with several CRM records has several e-mails and
-- phones, and the destinations take different keys). An audience (seeds/audience_definitions.csv)
-- is a segment expression over segment_memberships: a person holding ANY of its include
-- segments, EVERY one of its require segments and NONE of its exclude segments. Only persons
-- whose latest marketing decision is a grant (int_person_consents, is_granted_latest), outside
-- the activation holdout (is_activation_holdout) and without a deletion request
-- (int_privacy_deleted_subjects) are members. The keys (seeds/activation_destinations.csv,
-- match_keys) come from every CRM record of the person (int_person_customers,
-- int_customers_permitted): unsalted SHA-256 e-mail and phone keys for the ad platforms (never
-- of a shared or role address), the customer id for the e-mail tool. A member without any key
-- its destination takes cannot be matched and has no row. The only mart (with audience_changes)
-- that holds unsalted hashes.
with

definitions as (
    select * from {{ ref('audience_definitions') }}
),

destinations as (
    select * from {{ ref('activation_destinations') }}
),

memberships as (
    select * from {{ ref('segment_memberships') }}
),

consents as (
    select * from {{ ref('int_person_consents') }}
    where purpose = 'marketing'
),

deleted as (
    select * from {{ ref('int_privacy_deleted_subjects') }}
),

person_customers as (
    select * from {{ ref('int_person_customers') }}
),

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

audiences as (
    select
        audience_id,
        min(destination_id) as destination_id,
        sum(case when clause = 'require' then 1 else 0 end) as require_count
    from definitions
    group by audience_id
),

-- every clause each person holds (a segment is listed once per family in the memberships)
held_clauses as (
    select distinct
        memberships.person_id,
        definitions.audience_id,
        definitions.clause,
        definitions.segment_family,
        definitions.segment_name
    from memberships
    inner join definitions
        on
            memberships.segment_family = definitions.segment_family
            and memberships.segment_name = definitions.segment_name
),

clause_counts as (
    select
        person_id,
        audience_id,
        sum(case when clause = 'include' then 1 else 0 end) as include_count,
        sum(case when clause = 'require' then 1 else 0 end) as require_count,
        sum(case when clause = 'exclude' then 1 else 0 end) as exclude_count
    from held_clauses
    group by person_id, audience_id
),

-- persons activation may contact: marketing granted by the latest decision, not held out, and
-- no deletion request (the daily marts may still hold a person whose request landed since)
contactable as (
    select person_id
    from consents
    where
        is_granted_latest
        and not {{ is_activation_holdout('person_id') }}
        and {{ hash_pii('person_id') }} not in (
            select deleted.person_hash from deleted
            where deleted.person_hash is not null
        )
),

qualified as (
    select
        clause_counts.person_id,
        audiences.audience_id,
        audiences.destination_id
    from clause_counts
    inner join audiences
        on clause_counts.audience_id = audiences.audience_id
    inner join contactable
        on clause_counts.person_id = contactable.person_id
    where
        clause_counts.include_count > 0
        and clause_counts.require_count = audiences.require_count
        and clause_counts.exclude_count = 0
),

person_records as (
    select
        person_customers.person_id,
        customers.customer_id,
        customers.email_sha256,
        customers.phone_e164_sha256,
        customers.phone_digits_sha256,
        coalesce(customers.is_shared_email, false) as is_shared_email
    from person_customers
    inner join customers
        on person_customers.customer_id = customers.customer_id
),

person_keys as (
    select
        person_id,
        'email_sha256' as match_key_type,
        email_sha256 as match_key
    from person_records
    where email_sha256 is not null and not is_shared_email
    union
    select
        person_id,
        'phone_e164_sha256' as match_key_type,
        phone_e164_sha256 as match_key
    from person_records
    where phone_e164_sha256 is not null
    union
    select
        person_id,
        'phone_digits_sha256' as match_key_type,
        phone_digits_sha256 as match_key
    from person_records
    where phone_digits_sha256 is not null
    union
    select
        person_id,
        'customer_id' as match_key_type,
        customer_id as match_key
    from person_records
),

final as (
    select
        qualified.audience_id,
        qualified.destination_id,
        destinations.platform,
        qualified.person_id,
        person_keys.match_key_type,
        person_keys.match_key,
        observation_window.observation_end_at as evaluated_at
    from qualified
    inner join destinations
        on qualified.destination_id = destinations.destination_id
    inner join person_keys
        on qualified.person_id = person_keys.person_id
            and {{ dbt.concat(["' '", "destinations.match_keys", "' '"]) }}
            like {{ dbt.concat(["'% '", "person_keys.match_key_type", "' %'"]) }}
    cross join observation_window
)

select * from final
