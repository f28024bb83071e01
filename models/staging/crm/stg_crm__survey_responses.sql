-- Accepted survey answers, one row per customer, question and answer.
with

triaged as (
    select * from {{ ref('base_crm__survey_responses_triaged') }}
),

final as (
    select
        customer_id,
        question,
        answer,
        responded_at,
        _source_file,
        _source_row
    from triaged
    where quarantine_reason is null
)

select * from final
