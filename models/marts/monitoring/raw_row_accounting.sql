-- Where every raw row went, per raw table: accepted by staging, quarantined (with reason), and
-- of the accepted rows, which were kept out downstream, for which purpose (analytics consent,
-- deletion) and reason, or for the observation window.
-- One row per source table, stage, outcome and reason. Rows in = accepted + quarantined.
-- outlier_row_count: of the accepted rows, those with a value outside its outlier fence
-- (stg_*__outlier_flags): a count within row_count, not an outcome; they stay accepted.
-- The staging outcomes come from stg_row_outcomes, the downstream ones from
-- int_privacy_exclusions.
with

staging_outcomes as (
    select
        source_table,
        'staging' as pipeline_stage,
        outcome,
        cast(null as {{ dbt.type_string() }}) as purpose,
        reason,
        row_count,
        outlier_row_count
    from {{ ref('stg_row_outcomes') }}
),

downstream_outcomes as (
    select
        source_table,
        'downstream' as pipeline_stage,
        'excluded' as outcome,
        purpose,
        exclusion_reason as reason,
        row_count,
        cast(null as {{ dbt.type_bigint() }}) as outlier_row_count
    from {{ ref('int_privacy_exclusions') }}
),

final as (
    select * from staging_outcomes
    union all
    select * from downstream_outcomes
)

select * from final
