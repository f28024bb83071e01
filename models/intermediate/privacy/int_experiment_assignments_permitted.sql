-- experiment_assignments that everything downstream may use: accepted, not deleted, within as_of.
with

checked as (
    select * from {{ ref('int_experiment_assignments_privacy_checked') }}
),

final as (
    select
        subject_id,
        experiment_id,
        variant,
        assigned_at
    from checked
    where exclusion_reason is null
)

select * from final
