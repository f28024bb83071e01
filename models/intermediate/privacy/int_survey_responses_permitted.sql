-- survey_responses that everything downstream may use: accepted, not deleted, within as_of.
with

checked as (
    select * from {{ ref('int_survey_responses_privacy_checked') }}
),

final as (
    select
        customer_id,
        question,
        answer,
        responded_at
    from checked
    where exclusion_reason is null
)

select * from final
