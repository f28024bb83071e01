-- Typed raw deletion requests with row-level checks.
with

source as (
    select * from {{ source('privacy', 'deletion_requests') }}
),

typed as (
    select
        {{ clean_text('subject_id') }} as subject_id,
        {{ clean_text('requested_at') }} as requested_at_raw,
        {{ parse_timestamp_utc('requested_at') }} as requested_at,
        _source_file,
        _source_row
    from source
),

final as (
    select
        *,
        case
            when subject_id is null then 'missing_primary_key'
            when requested_at_raw is null then 'missing_timestamp'
            when requested_at is null then 'unparseable_timestamp'
        end as _invalid_reason
    from typed
)

select * from final
