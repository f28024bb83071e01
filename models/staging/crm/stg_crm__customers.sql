-- Accepted customers, one row per customer_id. Email and phone only as salted hashes.
with

triaged as (
    select * from {{ ref('base_crm__customers_triaged') }}
),

final as (
    select
        customer_id,
        email_hash,
        phone_hash,
        email_match_hash,
        phone_match_hash,
        email_sha256,
        phone_e164_sha256,
        phone_digits_sha256,
        is_shared_email,
        is_internal_account,
        postal_match_hash,
        signup_at,
        cast(signup_at as date) as signup_date,
        birth_year,
        gender,
        country,
        city,
        postal_code_prefix,
        loyalty_tier,
        acquisition_channel,
        _source_file,
        _source_row
    from triaged
    where quarantine_reason is null
)

select * from final
