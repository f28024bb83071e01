-- Segment health on the current build: per segment of every family, its size and trend, its
-- overlap with every other segment, its stability and a recommendation with the evidence, from
-- the spells of segment_membership_history (analytics-consented persons) and the build moments
-- of segment_transitions.
-- - size: members now, share of the family's persons; trend: members 7 builds ago.
-- - overlap: the Jaccard index with every other segment (segment_overlaps has the pairs); the
--   closest one is named here, redundant when the index is at least
--   var('monitoring_redundant_jaccard').
-- - stability: the share of the members of 1 (and 7) builds ago still members now (null until
--   there was such a build).
-- - over-segmentation: a family holding more segments than its persons can fill at
--   var('monitoring_min_segment_members') members each.
-- - recommendation, first that applies: retire (fewer members than
--   var('monitoring_min_segment_members')), merge (redundant with the closest segment),
--   re-segment (stability after one build below var('monitoring_min_stability'), or an
--   over-segmented family), else keep.
-- Member counts under var('segment_k_anonymity') are shown null (the recommendation still
-- uses them).
{%- set k = var('segment_k_anonymity') %}
{%- set min_members = var('monitoring_min_segment_members') %}

with

history as (
    select * from {{ ref('segment_membership_history') }}
),

transitions as (
    select * from {{ ref('segment_transitions') }}
),

segment_pairs as (
    select * from {{ ref('segment_overlaps') }}
),

build_moments as (
    select
        transitioned_at as build_at,
        row_number() over (order by transitioned_at desc) - 1 as builds_ago
    from (select distinct transitioned_at from transitions) as moments
),

current_build as (
    select build_at
    from build_moments
    where builds_ago = 0
),

-- members at the current build and at 1 and 7 builds ago
members_at as (
    select
        build_moments.builds_ago,
        history.person_id,
        history.segment_family,
        history.segment_name
    from history
    inner join build_moments
        on
            history.valid_from <= build_moments.build_at
            and (history.valid_to is null or history.valid_to > build_moments.build_at)
    where build_moments.builds_ago in (0, 1, 7)
),

sizes as (
    select
        segment_family,
        segment_name,
        sum(case when builds_ago = 0 then 1 else 0 end) as member_count,
        sum(case when builds_ago = 7 then 1 else 0 end) as member_count_7_builds_ago
    from members_at
    group by 1, 2
),

stayed as (
    select
        earlier.segment_family,
        earlier.segment_name,
        earlier.builds_ago,
        count(*) as earlier_member_count,
        count(now.person_id) as still_member_count
    from members_at as earlier
    left join members_at as now
        on
            earlier.person_id = now.person_id
            and earlier.segment_family = now.segment_family
            and earlier.segment_name = now.segment_name
            and now.builds_ago = 0
    where earlier.builds_ago in (1, 7)
    group by 1, 2, 3
),

family_persons as (
    select
        segment_family,
        count(distinct person_id) as family_person_count,
        count(distinct segment_name) as family_segment_count
    from members_at
    where builds_ago = 0
    group by 1
),

closest as (
    select
        segment_family,
        segment_name,
        other_family,
        other_name,
        jaccard
    from (
        select
            segment_family,
            segment_name,
            other_family,
            other_name,
            jaccard,
            row_number() over (
                partition by segment_family, segment_name
                order by jaccard desc, other_family asc, other_name asc
            ) as closeness_rank
        from segment_pairs
    ) as ranked
    where closeness_rank = 1
),

judged as (
    select
        sizes.segment_family,
        sizes.segment_name,
        sizes.member_count,
        sizes.member_count_7_builds_ago,
        1.0 * sizes.member_count / nullif(family_persons.family_person_count, 0)
            as family_share,
        one_build.still_member_count * 1.0 / nullif(one_build.earlier_member_count, 0)
            as stability_1_build,
        seven_builds.still_member_count * 1.0 / nullif(seven_builds.earlier_member_count, 0)
            as stability_7_builds,
        closest.other_family as closest_segment_family,
        closest.other_name as closest_segment_name,
        coalesce(closest.jaccard, 0) as closest_jaccard,
        coalesce(closest.jaccard, 0) >= {{ var('monitoring_redundant_jaccard') }} as is_redundant,
        family_persons.family_segment_count,
        floor(family_persons.family_person_count / {{ min_members }}) as family_segment_capacity,
        family_persons.family_segment_count
        > floor(family_persons.family_person_count / {{ min_members }}) as is_family_over_segmented
    from sizes
    inner join family_persons
        on sizes.segment_family = family_persons.segment_family
    left join stayed as one_build
        on
            sizes.segment_family = one_build.segment_family
            and sizes.segment_name = one_build.segment_name
            and one_build.builds_ago = 1
    left join stayed as seven_builds
        on
            sizes.segment_family = seven_builds.segment_family
            and sizes.segment_name = seven_builds.segment_name
            and seven_builds.builds_ago = 7
    left join closest
        on
            sizes.segment_family = closest.segment_family
            and sizes.segment_name = closest.segment_name
    where sizes.member_count > 0
),

final as (
    select
        current_build.build_at as evaluated_at,
        judged.segment_family,
        judged.segment_name,
        judged.member_count < {{ k }} as is_suppressed,
        case when judged.member_count >= {{ k }} then judged.member_count end as member_count,
        case when judged.member_count >= {{ k }} then judged.family_share end as family_share,
        case
            when judged.member_count >= {{ k }} and judged.member_count_7_builds_ago >= {{ k }}
                then judged.member_count - judged.member_count_7_builds_ago
        end as member_change_7_builds,
        judged.stability_1_build,
        judged.stability_7_builds,
        judged.closest_segment_family,
        judged.closest_segment_name,
        judged.closest_jaccard,
        judged.is_redundant,
        judged.family_segment_count,
        judged.family_segment_capacity,
        judged.is_family_over_segmented,
        case
            when judged.member_count < {{ min_members }} then 'retire'
            when judged.is_redundant then 'merge'
            when judged.stability_1_build < {{ var('monitoring_min_stability') }}
                or judged.is_family_over_segmented then 're-segment'
            else 'keep'
        end as recommendation,
        case
            when judged.member_count < {{ min_members }}
                then 'fewer than {{ min_members }} members'
            when judged.is_redundant
                then 'merge with ' || judged.closest_segment_family || ':'
                    || judged.closest_segment_name || ' (Jaccard '
                    || cast(round(judged.closest_jaccard, 2) as {{ dbt.type_string() }}) || ')'
            when judged.stability_1_build < {{ var('monitoring_min_stability') }}
                then 'only ' || cast(
                        cast(round(100 * judged.stability_1_build) as {{ dbt.type_int() }})
                        as {{ dbt.type_string() }}
                    ) || '% of the members stayed one build'
            when judged.is_family_over_segmented
                then cast(judged.family_segment_count as {{ dbt.type_string() }})
                    || ' segments; the family''s persons fill at most '
                    || cast(
                        cast(judged.family_segment_capacity as {{ dbt.type_int() }})
                        as {{ dbt.type_string() }}
                    )
                    || ' of {{ min_members }} members'
            else 'stable, distinct and large enough'
        end as recommendation_evidence
    from judged
    cross join current_build
)

select * from final
