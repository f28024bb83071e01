-- The tag taxonomy in one long table: one row per person, tag family and tag, with when it was
-- assigned (the end of as_of) and why. Families: interest (viewed categories, survey answers),
-- value (survey answers), lifecycle_stage, engagement_level, channel_preference, rule_segment.
with

segments as (
    select * from {{ ref('customer_segments') }}
),

engagement as (
    select * from {{ ref('customer_engagement') }}
),

rfm as (
    select * from {{ ref('int_person_rfm_scored') }}
),

surveys as (
    select * from {{ ref('int_survey_responses_permitted') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
    where id_type = 'user_id'
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

viewed_interests as (
    select
        person_id,
        'interest' as tag_family,
        favourite_category as tag,
        'most viewed category in the last {{ var("engagement_window_days") }} days' as reason
    from engagement
    where favourite_category is not null
),

survey_tags as (
    select distinct
        resolved.person_id,
        case when surveys.question = 'values' then 'value' else 'interest' end as tag_family,
        surveys.answer as tag,
        {{ dbt.concat(["'survey answer to '", 'surveys.question']) }} as reason
    from surveys
    inner join resolved
        on surveys.customer_id = resolved.id_value
    where surveys.question in ('interests', 'values')
),

lifecycle as (
    select
        segments.person_id,
        'lifecycle_stage' as tag_family,
        case
            when rfm.person_id is null then 'prospect'
            when rfm.recency_days > {{ var('rule_lapsed_after_days') }} then 'lapsed_customer'
            when rfm.purchase_days = 1 then 'new_customer'
            else 'repeat_customer'
        end as tag,
        case
            when rfm.person_id is null then 'no completed order yet'
            else {{ dbt.concat(["'last purchase '",
                                dbt.cast('rfm.recency_days', dbt.type_string()),
                                "' days before as_of, '",
                                dbt.cast('rfm.purchase_days', dbt.type_string()),
                                "' purchase days'"]) }}
        end as reason
    from segments
    left join rfm
        on segments.person_id = rfm.person_id
),

engagement_levels as (
    select
        person_id,
        'engagement_level' as tag_family,
        engagement_tier as tag,
        {{ dbt.concat(["'engagement score '", dbt.cast('engagement_score', dbt.type_string())]) }}
            as reason
    from segments
),

channel_preferences as (
    select
        person_id,
        'channel_preference' as tag_family,
        preferred_channel as tag,
        'most frequent channel of recent sessions' as reason
    from engagement
    where preferred_channel is not null
),

rule_tags as (
    select
        person_id,
        'rule_segment' as tag_family,
        primary_rule_segment as tag,
        primary_rule_reason as reason
    from segments
),

all_tags as (
    select * from viewed_interests
    union all
    select * from survey_tags
    union all
    select * from lifecycle
    union all
    select * from engagement_levels
    union all
    select * from channel_preferences
    union all
    select * from rule_tags
),

final as (
    select
        all_tags.person_id,
        all_tags.tag_family,
        all_tags.tag,
        observation_window.observation_end_at as assigned_at,
        min(all_tags.reason) as reason
    from all_tags
    cross join observation_window
    group by 1, 2, 3, 4
)

select * from final
