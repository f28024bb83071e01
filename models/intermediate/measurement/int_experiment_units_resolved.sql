-- Experiment units: every person an experiment assigned, with its exposure, on the way to
-- experiment_units. A permitted assignment (int_experiment_assignments_permitted: no deleted
-- subject, within as_of) resolves to the person of its subject id (the user id when it is one,
-- else the device), so assignments on any of a person's ids are one unit. The exposure is the
-- person's first assignment in the experiment (earliest assigned_at; ties by variant, subject).
-- exclusion_reason says why a person is not a unit, or is null: 'multiple_variants' (assigned
-- to more than one variant of the experiment), 'no_analytics_consent' (int_person_consents:
-- the analytics consent in force at the end of as_of is refused, so its behaviour is not read)
-- or 'unresolved_subject' (an id the identity graph has not met: no person to read). One row
-- per person_id and experiment_id.
with

assignments as (
    select * from {{ ref('int_experiment_assignments_permitted') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

analytics_consents as (
    select * from {{ ref('int_person_consents') }}
    where purpose = 'analytics'
),

assignments_resolved as (
    select
        assignments.subject_id,
        assignments.experiment_id,
        assignments.variant,
        assignments.assigned_at,
        coalesce(by_user.person_id, by_anonymous_id.person_id) as resolved_person_id
    from assignments
    left join resolved as by_user
        on
            assignments.subject_id = by_user.id_value
            and by_user.id_type = 'user_id'
    left join resolved as by_anonymous_id
        on
            assignments.subject_id = by_anonymous_id.id_value
            and by_anonymous_id.id_type = 'anonymous_id'
),

-- an unresolved subject keeps a person id of its own (the one a lone id gets), so it is counted
assignments_with_person as (
    select
        *,
        coalesce(
            resolved_person_id,
            {{ dbt.hash(identity_node_label('anonymous_id', 'subject_id')) }}
        ) as person_id
    from assignments_resolved
),

ranked as (
    select
        *,
        row_number() over (
            partition by person_id, experiment_id
            order by assigned_at, variant, subject_id
        ) as assignment_rank
    from assignments_with_person
),

per_person as (
    select
        person_id,
        experiment_id,
        count(*) as assignment_count,
        count(distinct variant) as variant_count
    from assignments_with_person
    group by person_id, experiment_id
),

final as (
    select
        ranked.person_id,
        ranked.experiment_id,
        ranked.variant,
        ranked.assigned_at,
        ranked.subject_id as exposure_subject_id,
        per_person.assignment_count,
        per_person.variant_count,
        case
            when ranked.resolved_person_id is null then 'unresolved_subject'
            when per_person.variant_count > 1 then 'multiple_variants'
            when not coalesce(analytics_consents.is_granted, false) then 'no_analytics_consent'
        end as exclusion_reason
    from ranked
    inner join per_person
        on
            ranked.person_id = per_person.person_id
            and ranked.experiment_id = per_person.experiment_id
    left join analytics_consents
        on ranked.person_id = analytics_consents.person_id
    where ranked.assignment_rank = 1
)

select * from final
