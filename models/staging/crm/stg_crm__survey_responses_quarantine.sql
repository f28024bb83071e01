-- Rows of the raw survey_responses table that staging rejected:
-- one row per rejected raw row, with the reason.
with

triaged as (
    select * from {{ ref('base_crm__survey_responses_triaged') }}
),

final as (
    select
        _source_file as source_file,
        _source_row as source_row,
        quarantine_reason as reason,
        customer_id,
        question,
        answer,
        responded_at_raw
    from triaged
    where quarantine_reason is not null
)

select * from final
