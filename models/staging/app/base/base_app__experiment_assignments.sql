-- Typed raw experiment assignments with row-level checks.
with

source as (
    select * from {{ source('app', 'experiment_assignments') }}
),

typed as (
    select
        {{ clean_text('subject_id') }} as subject_id,
        {{ clean_text('experiment_id') }} as experiment_id,
        {{ clean_text('variant', 'lower') }} as variant,
        {{ clean_text('assigned_at') }} as assigned_at_raw,
        {{ parse_timestamp_utc('assigned_at') }} as assigned_at,
        _source_file,
        _source_row
    from source
),

final as (
    select
        *,
        case
            when subject_id is null or experiment_id is null then 'missing_primary_key'
            when assigned_at_raw is null then 'missing_timestamp'
            when assigned_at is null then 'unparseable_timestamp'
            when variant is null then 'missing_variant'
        end as _invalid_reason
    from typed
)

select * from final
