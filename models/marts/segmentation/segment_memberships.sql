-- Every segment membership of every person, long form: one row per person, segment family and
-- segment. The one list that content decisions, journeys, audiences and the change log read, so
-- that a segment means the same thing in every channel.
-- Families: 'rule' (every rule flag a person holds), 'primary_rule' (the highest-priority rule,
-- general_audience when none), 'rfm' (No Purchase without a completed order), 'engagement_tier'
-- (inactive without a session in the window), 'cluster', 'churn_risk_tier' (persons with a
-- churn score) from the daily marts, and 'realtime' (customer_realtime_segments, the stream
-- clock). Built from the same marts as customer_segments (not from it: customer_segments shows
-- the content decision, which reads this model). Tagged realtime: the fast path refreshes it
-- (the daily families are re-read, not recomputed).
{{ config(materialized='table', tags=['realtime']) }}
{%- set rule_flags = [
    'high_value_cart_abandoner', 'cart_abandoner', 'high_intent_product_viewer',
    'recent_high_value_buyer', 'lapsed_customer', 'new_visitor', 'discount_driven_buyer',
    'late_night_mobile_shopper', 'browser_never_buys', 'rapid_product_browser',
    'category_enthusiast', 'highly_engaged',
] %}
{#- each real-time segment with the column its membership starts at (the journeys' episode
    anchor): an open cart from its first abandoned add, the others from the stream clock -#}
{%- set realtime_flags = {
    'cart_abandoner': 'first_abandoned_at',
    'high_value_cart_abandoner': 'first_abandoned_at',
    'high_intent_product_viewer': 'evaluated_at',
    'rapid_product_browser': 'evaluated_at',
} %}

with

persons as (
    select * from {{ ref('int_persons') }}
),

rules as (
    select * from {{ ref('customer_rule_segments') }}
),

rfm as (
    select * from {{ ref('int_person_rfm_scored') }}
),

engagement as (
    select * from {{ ref('customer_engagement') }}
),

clusters as (
    select * from {{ ref('customer_clusters') }}
),

churn_scores as (
    select * from {{ ref('customer_churn_scores') }}
),

realtime_segments as (
    select * from {{ ref('customer_realtime_segments') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

-- noqa: disable=LT02
daily as (
    select
        persons.person_id,
        rules.primary_rule_segment,
        rfm.rfm_segment,
        engagement.engagement_tier,
        clusters.cluster_name,
        churn_scores.churn_risk_tier
        {%- for flag in rule_flags %},
        rules.is_{{ flag }}
        {%- endfor %}
    from persons
    left join rules
        on persons.person_id = rules.person_id
    left join rfm
        on persons.person_id = rfm.person_id
    left join engagement
        on persons.person_id = engagement.person_id
    left join clusters
        on persons.person_id = clusters.person_id
    left join churn_scores
        on persons.person_id = churn_scores.person_id
),

memberships as (
    {%- for flag in rule_flags %}
    select
        person_id,
        'rule' as segment_family,
        '{{ flag }}' as segment_name,
        cast(null as {{ dbt.type_timestamp() }}) as member_since_at
    from daily
    where is_{{ flag }}
    union all
    {%- endfor %}
    select
        person_id,
        'primary_rule' as segment_family,
        coalesce(primary_rule_segment, 'general_audience') as segment_name,
        cast(null as {{ dbt.type_timestamp() }}) as member_since_at
    from daily
    union all
    select
        person_id,
        'rfm' as segment_family,
        coalesce(rfm_segment, 'No Purchase') as segment_name,
        cast(null as {{ dbt.type_timestamp() }}) as member_since_at
    from daily
    union all
    select
        person_id,
        'engagement_tier' as segment_family,
        coalesce(engagement_tier, 'inactive') as segment_name,
        cast(null as {{ dbt.type_timestamp() }}) as member_since_at
    from daily
    union all
    select
        person_id,
        'cluster' as segment_family,
        cluster_name as segment_name,
        cast(null as {{ dbt.type_timestamp() }}) as member_since_at
    from daily
    where cluster_name is not null
    union all
    select
        person_id,
        'churn_risk_tier' as segment_family,
        churn_risk_tier as segment_name,
        cast(null as {{ dbt.type_timestamp() }}) as member_since_at
    from daily
    where churn_risk_tier is not null
    {%- for flag, since in realtime_flags.items() %}
    union all
    select
        person_id,
        'realtime' as segment_family,
        '{{ flag }}' as segment_name,
        {{ since }} as member_since_at
    from realtime_segments
    where is_{{ flag }}
    {%- endfor %}
),
-- noqa: enable=LT02

stream_clock as (
    select max(evaluated_at) as evaluated_at from realtime_segments
),

final as (
    select
        memberships.person_id,
        memberships.segment_family,
        memberships.segment_name,
        case
            when memberships.segment_family = 'realtime'
                then coalesce(stream_clock.evaluated_at, observation_window.observation_end_at)
            else observation_window.observation_end_at
        end as evaluated_at,
        coalesce(
            memberships.member_since_at,
            case
                when memberships.segment_family = 'realtime'
                    then coalesce(stream_clock.evaluated_at, observation_window.observation_end_at)
                else observation_window.observation_end_at
            end
        ) as member_since_at
    from memberships
    cross join observation_window
    cross join stream_clock
)

select * from final
