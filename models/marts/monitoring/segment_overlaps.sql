-- Overlap of every pair of segments on the current build (both orders, across families too):
-- shared members and the Jaccard index (shared / members of either), from the open spells of
-- segment_membership_history (analytics-consented persons). segment_health names each
-- segment's closest partner; pairs at var('monitoring_redundant_jaccard') or above are
-- redundant. Segments share no member with most others: only pairs with a shared member are
-- rows (the index of any other pair is 0). A family derived from another
-- (var('monitoring_overlap_derived_families'): primary_rule holds one of each person's rule
-- flags) is not compared with its source: they overlap by construction.
{%- set derived = var('monitoring_overlap_derived_families') %}
with

history as (
    select * from {{ ref('segment_membership_history') }}
    where is_current
),

sizes as (
    select
        segment_family,
        segment_name,
        count(*) as member_count
    from history
    group by 1, 2
),

shared as (
    select
        mine.segment_family,
        mine.segment_name,
        other.segment_family as other_family,
        other.segment_name as other_name,
        count(*) as shared_member_count
    from history as mine
    inner join history as other
        on
            mine.person_id = other.person_id
            and not (
                mine.segment_family = other.segment_family
                and mine.segment_name = other.segment_name
            )
            {%- for family, source in derived.items() %}
            and not (mine.segment_family = '{{ family }}' and other.segment_family = '{{ source }}')
            and not (mine.segment_family = '{{ source }}' and other.segment_family = '{{ family }}')
            {%- endfor %}
    group by 1, 2, 3, 4
),

final as (
    select
        shared.segment_family,
        shared.segment_name,
        shared.other_family,
        shared.other_name,
        shared.shared_member_count,
        1.0 * shared.shared_member_count
        / (mine.member_count + other.member_count - shared.shared_member_count) as jaccard,
        1.0 * shared.shared_member_count
        / (mine.member_count + other.member_count - shared.shared_member_count)
        >= {{ var('monitoring_redundant_jaccard') }} as is_redundant
    from shared
    inner join sizes as mine
        on
            shared.segment_family = mine.segment_family
            and shared.segment_name = mine.segment_name
    inner join sizes as other
        on
            shared.other_family = other.segment_family
            and shared.other_name = other.segment_name
)

select * from final
