-- Typed raw survey answers with row-level checks.
with

source as (
    select * from {{ source('crm', 'survey_responses') }}
),

typed as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('question', 'lower') }} as question,
        {{ clean_text('answer', 'lower') }} as answer,
        {{ clean_text('responded_at') }} as responded_at_raw,
        {{ parse_timestamp_utc('responded_at') }} as responded_at,
        _source_file,
        _source_row
    from source
),

final as (
    select
        *,
        case
            when customer_id is null or question is null or answer is null
                then 'missing_primary_key'
            when responded_at_raw is null then 'missing_timestamp'
            when responded_at is null then 'unparseable_timestamp'
        end as _invalid_reason
    from typed
)

select * from final
