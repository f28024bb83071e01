-- customers that everything downstream may use: accepted, not deleted, within as_of.
with

checked as (
    select * from {{ ref('int_customers_privacy_checked') }}
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
        postal_match_hash,
        signup_at,
        signup_date,
        birth_year,
        gender,
        country,
        city,
        postal_code_prefix,
        loyalty_tier,
        acquisition_channel
    from checked
    where exclusion_reason is null
)

select * from final
