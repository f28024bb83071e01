-- Which rule covers every segment of the catalogue in every slot: one row per slot of
-- seeds/content_rules.csv and segment of seeds/segment_catalog.csv (rule groups aside, they are
-- not memberships). covering_rule_id is the slot's rule for the segment, else the slot's default
-- rule, else null: a null means a member of that segment would get no block in that slot (the
-- slot has no default), and the not_null test on it fails the build.
with

content_rules as (
    select * from {{ ref('content_rules') }}
),

segment_catalog as (
    select * from {{ ref('segment_catalog') }}
    where segment_family <> 'rule_group'
),

slots as (
    select distinct slot from content_rules
),

-- a catalogue rule segment is held both as a rule flag and as the primary rule
rules_by_catalog_family as (
    select
        slot,
        segment_name,
        content_rule_id,
        case
            when segment_family = 'primary_rule' then 'rule' else segment_family
        end as catalog_family
    from content_rules
    where not is_default
),

segment_rules as (
    select
        slot,
        catalog_family,
        segment_name,
        min(content_rule_id) as content_rule_id
    from rules_by_catalog_family
    group by slot, catalog_family, segment_name
),

slot_defaults as (
    select
        slot,
        min(content_rule_id) as content_rule_id
    from content_rules
    where is_default
    group by slot
),

final as (
    select
        slots.slot,
        segment_catalog.segment_family,
        segment_catalog.segment_name,
        segment_rules.content_rule_id as segment_rule_id,
        slot_defaults.content_rule_id as default_rule_id,
        coalesce(segment_rules.content_rule_id, slot_defaults.content_rule_id)
            as covering_rule_id
    from slots
    cross join segment_catalog
    left join segment_rules
        on
            slots.slot = segment_rules.slot
            and segment_catalog.segment_family = segment_rules.catalog_family
            and segment_catalog.segment_name = segment_rules.segment_name
    left join slot_defaults
        on slots.slot = slot_defaults.slot
)

select * from final
