-- Typed raw customers with row-level checks. PII is hashed here, before anything else sees it:
-- the e-mail and phone match keys of the identity graph (normalised per the seeds
-- identity_email_domains and identity_shared_email_local_parts, and to E.164) are computed and
-- hashed in this model's CTEs; only their salted hashes and flags leave it. The audience
-- platforms' match keys leave it as UNSALTED SHA-256 hex (what Meta and Google match on; see
-- docs/activation.md, "Audiences"): email_sha256 (the trimmed, lower-case address),
-- phone_e164_sha256 (E.164 with '+', Google) and phone_digits_sha256 (E.164 digits without '+',
-- Meta). Only the audience marts may carry them downstream of the intermediate layer.
with

source as (
    select * from {{ source('crm', 'customers') }}
),

email_domains as (
    select * from {{ ref('identity_email_domains') }}
),

shared_local_parts as (
    select * from {{ ref('identity_shared_email_local_parts') }}
),

internal_patterns as (
    select * from {{ ref('internal_account_patterns') }}
),

-- raw contact values, normalised: never selected out of this model (only their hashes are).
-- No regular expressions: replace, translate and split_part behave the same on both engines.
contacts as (
    select
        *,
        {{ email_local_part('source.email') }} as email_local_part,
        {{ email_domain('source.email') }} as email_domain,
        {{ phone_stripped('source.phone') }} as phone_stripped,
        {{ clean_text('source.country', 'upper') }} as country_code
    from source
),

contact_keys as (
    select
        contacts.*,
        {{ email_match_key(
            'contacts.email_local_part',
            'coalesce(email_domains.canonical_domain, contacts.email_domain)',
            'coalesce(email_domains.strip_dots, false)',
            'coalesce(email_domains.strip_plus_tags, false)'
        ) }} as email_match_key,
        coalesce(email_domains.is_shared_domain, false) as is_shared_domain,
        {{ phone_e164('contacts.phone_stripped', 'contacts.country_code') }} as phone_e164
    from contacts
    left join email_domains
        on contacts.email_domain = email_domains.domain
),

contact_flags as (
    select
        contact_keys.*,
        case
            when contact_keys.email_match_key is not null
                then contact_keys.is_shared_domain or shared_local_parts.local_part is not null
        end as is_shared_email
    from contact_keys
    left join shared_local_parts
        on nullif(
            {{ dbt.split_part(
                dbt.split_part('contact_keys.email_match_key', "'@'", 1), "'+'", 1
            ) }},
                ''
            ) = shared_local_parts.local_part
),

-- internal accounts (seed internal_account_patterns): an e-mail at the shop's own domain, or a
-- listed customer id prefix
internal_customers as (
    select distinct
        contact_flags._source_file,
        contact_flags._source_row
    from contact_flags
    inner join internal_patterns
        on (
            internal_patterns.pattern_type = 'email_domain'
            and contact_flags.email_domain = lower(internal_patterns.pattern)
        )
        or (
            internal_patterns.pattern_type = 'customer_id_prefix'
            and left(trim(contact_flags.customer_id), length(internal_patterns.pattern))
            = internal_patterns.pattern
        )
),

typed as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ hash_pii('email') }} as email_hash,
        {{ hash_pii('phone') }} as phone_hash,
        {{ hash_pii('email_match_key') }} as email_match_hash,
        {{ hash_pii('phone_e164') }} as phone_match_hash,
        case
            when contact_flags.email_domain is not null
                then {{ sha256_hex(dbt.concat([
                    'contact_flags.email_local_part', "'@'", 'contact_flags.email_domain'
                ])) }}
        end as email_sha256,
        case
            when contact_flags.phone_e164 is not null
                then {{ sha256_hex('contact_flags.phone_e164') }}
        end as phone_e164_sha256,
        case
            when contact_flags.phone_e164 is not null
                then {{ sha256_hex('substr(contact_flags.phone_e164, 2)') }}
        end as phone_digits_sha256,
        coalesce(contact_flags.is_shared_email, false) as is_shared_email,
        internal_customers._source_row is not null as is_internal_account,
        {{ hash_pii("replace(upper(trim(postal_code)), ' ', '')") }} as postal_match_hash,
        {{ clean_text('signup_at') }} as signup_at_raw,
        {{ parse_timestamp_utc('signup_at') }} as signup_at,
        {{ dbt.safe_cast('trim(birth_year)', dbt.type_int()) }} as birth_year,
        {{ clean_text('gender', 'lower') }} as gender,
        contact_flags.country_code as country,
        {{ clean_text('city') }} as city,
        upper(left({{ clean_text('postal_code') }}, 3)) as postal_code_prefix,
        {{ clean_text('loyalty_tier', 'lower') }} as loyalty_tier,
        {{ clean_text('acquisition_channel', 'lower') }} as acquisition_channel,
        contact_flags._source_file,
        contact_flags._source_row
    from contact_flags
    left join internal_customers
        on contact_flags._source_file = internal_customers._source_file
            and contact_flags._source_row = internal_customers._source_row
),

final as (
    select
        *,
        case
            when customer_id is null then 'missing_primary_key'
            when signup_at_raw is null then 'missing_timestamp'
            when signup_at is null then 'unparseable_timestamp'
        end as _invalid_reason
    from typed
)

select * from final
