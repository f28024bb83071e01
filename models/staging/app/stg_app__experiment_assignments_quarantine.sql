-- Rows of the raw experiment_assignments table that staging rejected:
-- one row per rejected raw row, with the reason.
with

triaged as (
    select * from {{ ref('base_app__experiment_assignments_triaged') }}
),

final as (
    select
        _source_file as source_file,
        _source_row as source_row,
        quarantine_reason as reason,
        subject_id,
        experiment_id,
        variant,
        assigned_at_raw,
        assigned_at
    from triaged
    where quarantine_reason is not null
)

select * from final
