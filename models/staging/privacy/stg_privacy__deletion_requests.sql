-- Accepted deletion requests, one row per subject (the earliest request).
with

triaged as (
    select * from {{ ref('base_privacy__deletion_requests_triaged') }}
),

final as (
    select
        subject_id,
        requested_at,
        _source_file,
        _source_row
    from triaged
    where quarantine_reason is null
)

select * from final
