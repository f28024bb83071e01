-- Typed raw customers with row-level checks. PII is hashed here, before anything else sees it.
with

source as (
    select * from {{ source('crm', 'customers') }}
),

typed as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ hash_pii('email') }} as email_hash,
        {{ hash_pii('phone') }} as phone_hash,
        {{ clean_text('signup_at') }} as signup_at_raw,
        {{ parse_timestamp_utc('signup_at') }} as signup_at,
        {{ dbt.safe_cast('trim(birth_year)', dbt.type_int()) }} as birth_year,
        {{ clean_text('gender', 'lower') }} as gender,
        {{ clean_text('country', 'upper') }} as country,
        {{ clean_text('city') }} as city,
        upper(left({{ clean_text('postal_code') }}, 3)) as postal_code_prefix,
        {{ clean_text('loyalty_tier', 'lower') }} as loyalty_tier,
        {{ clean_text('acquisition_channel', 'lower') }} as acquisition_channel,
        _source_file,
        _source_row
    from source
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
