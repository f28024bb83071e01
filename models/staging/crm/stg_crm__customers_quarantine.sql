-- Rows of the raw customers table that staging rejected:
-- one row per rejected raw row, with the reason.
with

triaged as (
    select * from {{ ref('base_crm__customers_triaged') }}
),

final as (
    select
        _source_file as source_file,
        _source_row as source_row,
        quarantine_reason as reason,
        customer_id,
        email_hash,
        signup_at_raw,
        signup_at
    from triaged
    where quarantine_reason is not null
)

select * from final
