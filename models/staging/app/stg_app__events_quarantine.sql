-- Rows of the raw events table that staging rejected:
-- one row per rejected raw row, with the reason.
with

triaged as (
    select * from {{ ref('base_app__events_triaged') }}
),

final as (
    select
        _source_file as source_file,
        _source_row as source_row,
        quarantine_reason as reason,
        event_id,
        anonymous_id,
        user_id,
        event_type_raw,
        occurred_at_raw,
        occurred_at,
        revenue
    from triaged
    where quarantine_reason is not null
)

select * from final
