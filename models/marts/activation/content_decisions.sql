-- The content every channel shows a person (data contract, content_decisions): one row per
-- person and slot of seeds/content_rules.csv. Per slot, the rules fire in priority order for a
-- person holding the rule's segment (segment_memberships, daily families); the first wins. The
-- slot's default rule covers everyone no rule selects (reason no_matching_rule), every person
-- without personalization consent in force (int_person_consents, reason
-- no_personalization_consent) and the activation holdout (is_activation_holdout, reason
-- activation_holdout). One decision per person and slot per build: the site, the e-mails and the
-- journeys (steps that name a slot) all read it, so a person sees the same block everywhere.
with

persons as (
    select * from {{ ref('int_persons') }}
),

memberships as (
    select * from {{ ref('segment_memberships') }}
    where segment_family <> 'realtime'
),

content_rules as (
    select * from {{ ref('content_rules') }}
),

consents as (
    select * from {{ ref('int_person_consents') }}
    where purpose = 'personalization'
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

slot_defaults as (
    select
        slot,
        content_rule_id,
        content_block_id
    from content_rules
    where is_default
),

segment_rules as (
    select * from content_rules
    where not is_default
),

fired_rules as (
    select
        memberships.person_id,
        segment_rules.slot,
        segment_rules.content_rule_id,
        segment_rules.content_block_id,
        segment_rules.segment_family,
        segment_rules.segment_name,
        row_number() over (
            partition by memberships.person_id, segment_rules.slot
            order by segment_rules.priority, segment_rules.content_rule_id
        ) as fired_rank
    from memberships
    inner join segment_rules
        on
            memberships.segment_family = segment_rules.segment_family
            and memberships.segment_name = segment_rules.segment_name
),

first_rules as (
    select * from fired_rules
    where fired_rank = 1
),

eligibility as (
    select
        persons.person_id,
        coalesce(consents.is_granted_latest, false) as has_personalization_consent,
        {{ is_activation_holdout('persons.person_id') }} as is_activation_holdout
    from persons
    left join consents
        on persons.person_id = consents.person_id
),

decisions as (
    select
        eligibility.person_id,
        slot_defaults.slot,
        case
            when not eligibility.has_personalization_consent then 'no_personalization_consent'
            when eligibility.is_activation_holdout then 'activation_holdout'
            when first_rules.content_rule_id is null then 'no_matching_rule'
            else {{ dbt.concat(["first_rules.segment_family", "':'", "first_rules.segment_name"]) }}
        end as reason,
        coalesce(
            eligibility.has_personalization_consent
            and not eligibility.is_activation_holdout
            and first_rules.content_rule_id is not null,
            false
        ) as is_personalized,
        first_rules.content_rule_id as fired_rule_id,
        first_rules.content_block_id as fired_block_id,
        slot_defaults.content_rule_id as default_rule_id,
        slot_defaults.content_block_id as default_block_id
    from eligibility
    cross join slot_defaults
    left join first_rules
        on
            eligibility.person_id = first_rules.person_id
            and slot_defaults.slot = first_rules.slot
),

final as (
    select
        decisions.person_id,
        decisions.slot,
        decisions.is_personalized,
        decisions.reason,
        observation_window.observation_end_at as decided_at,
        case
            when decisions.is_personalized then decisions.fired_block_id
            else decisions.default_block_id
        end as content_block_id,
        case
            when decisions.is_personalized then decisions.fired_rule_id
            else decisions.default_rule_id
        end as content_rule_id
    from decisions
    cross join observation_window
)

select * from final
