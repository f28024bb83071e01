-- Accepted consent decisions, one row per subject, purpose and decision time.
with

triaged as (
    select * from {{ ref('base_privacy__consents_triaged') }}
),

final as (
    select
        subject_id,
        purpose,
        is_granted,
        recorded_at,
        region,
        _source_file,
        _source_row
    from triaged
    where quarantine_reason is null
)

select * from final
