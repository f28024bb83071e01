-- Accepted experiment assignments, one row per subject and experiment.
with

triaged as (
    select * from {{ ref('base_app__experiment_assignments_triaged') }}
),

final as (
    select
        subject_id,
        experiment_id,
        variant,
        assigned_at,
        _source_file,
        _source_row
    from triaged
    where quarantine_reason is null
)

select * from final
