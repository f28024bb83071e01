-- One row per experiment: who was assigned, who counts as a unit and why the others do not
-- (experiment_units). multiple_exposure_share is the share of assigned persons seen in more
-- than one variant (excluded from the readout); a share above
-- var('experiment_multiple_exposure_warn_share') is flagged (is_multiple_exposure_high) and
-- warned about by a test, one above var('experiment_multiple_exposure_max_share') fails the
-- build: the assignment itself is broken (both judged from var('experiment_gate_min_persons')
-- assigned persons: on a handful, one person is a large share). control_variant is the variant
-- named in var('experiment_control_variants'); without one the readout compares nothing (a
-- test warns). pending_units are units whose attribution window is
-- still open at the end of as_of (counted, not estimated).
with

units as (
    select * from {{ ref('experiment_units') }}
),

aggregated as (
    select
        experiment_id,
        min(assignment_source) as assignment_source,
        count(*) as assigned_person_count,
        sum(case when is_unit then 1 else 0 end) as unit_count,
        sum(case when is_unit and is_window_complete then 1 else 0 end) as complete_unit_count,
        sum(case when is_unit and not is_window_complete then 1 else 0 end) as pending_unit_count,
        sum(case when exclusion_reason = 'multiple_variants' then 1 else 0 end)
            as multiple_variant_person_count,
        sum(case when exclusion_reason = 'no_analytics_consent' then 1 else 0 end)
            as no_analytics_consent_person_count,
        sum(case when exclusion_reason = 'unresolved_subject' then 1 else 0 end)
            as unresolved_subject_count,
        count(distinct variant) as variant_count,
        min(
            case
                when lower(variant) in ({{ sql_string_list(var('experiment_control_variants')) }})
                    then variant
            end
        ) as control_variant,
        min(assigned_at) as first_assigned_at,
        max(assigned_at) as last_assigned_at
    from units
    group by experiment_id
),

final as (
    select
        *,
        round(1.0 * multiple_variant_person_count / assigned_person_count, 6)
            as multiple_exposure_share,
        1.0 * multiple_variant_person_count / assigned_person_count
        > {{ var('experiment_multiple_exposure_warn_share') }} as is_multiple_exposure_high
    from aggregated
)

select * from final
