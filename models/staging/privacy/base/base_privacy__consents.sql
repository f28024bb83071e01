-- Typed raw consent decisions with row-level checks.
with

source as (
    select * from {{ source('privacy', 'consents') }}
),

typed as (
    select
        {{ clean_text('subject_id') }} as subject_id,
        {{ clean_text('purpose', 'lower') }} as purpose,
        {{ clean_text('granted') }} as granted_raw,
        {{ parse_boolean('granted') }} as is_granted,
        {{ clean_text('recorded_at') }} as recorded_at_raw,
        {{ parse_timestamp_utc('recorded_at') }} as recorded_at,
        {{ clean_text('region', 'upper') }} as region,
        _source_file,
        _source_row
    from source
),

final as (
    select
        *,
        case
            when subject_id is null then 'missing_primary_key'
            when recorded_at_raw is null then 'missing_timestamp'
            when recorded_at is null then 'unparseable_timestamp'
            when purpose is null or purpose not in ('analytics', 'personalization', 'marketing')
                then 'invalid_purpose'
            when is_granted is null then 'invalid_boolean'
        end as _invalid_reason
    from typed
)

select * from final
