-- Each subject's latest consent decision per purpose (a refusal wins a tie on the same instant).
with

consents as (
    select * from {{ ref('stg_privacy__consents') }}
),

ranked as (
    select
        subject_id,
        purpose,
        is_granted,
        recorded_at,
        region,
        row_number() over (
            partition by subject_id, purpose
            order by
                recorded_at desc,
                case when is_granted then 1 else 0 end,
                _source_file desc,
                _source_row desc
        ) as decision_rank,
        count(*) over (partition by subject_id, purpose) as decision_count
    from consents
),

final as (
    select
        subject_id,
        purpose,
        is_granted,
        recorded_at as decided_at,
        region,
        decision_count,
        decision_count > 1 as has_changed_decision
    from ranked
    where decision_rank = 1
)

select * from final
