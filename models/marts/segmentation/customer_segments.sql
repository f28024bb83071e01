-- The table BI dashboards and activation tools read (data contract section 4): one row per
-- person with every segment membership that exists so far (rules, RFM, engagement tier) and the
-- content block to show, the person's cluster (with its membership probability) and churn
-- propensity (customers with a past purchase; null for everyone else).
-- No raw PII: only ids, segments and scores.
with

persons as (
    select * from {{ ref('int_persons') }}
),

rules as (
    select * from {{ ref('customer_rule_segments') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
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

content_blocks as (
    select * from {{ ref('content_blocks') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

final as (
    select
        persons.person_id,
        persons.customer_id,
        rules.is_high_value_cart_abandoner,
        rules.is_cart_abandoner,
        rules.is_high_intent_product_viewer,
        rules.is_recent_high_value_buyer,
        rules.is_lapsed_customer,
        rules.is_new_visitor,
        rules.is_discount_driven_buyer,
        rules.is_late_night_mobile_shopper,
        rules.is_browser_never_buys,
        rules.is_rapid_product_browser,
        rules.is_category_enthusiast,
        rules.is_highly_engaged,
        rules.enthusiast_category,
        churn_scores.churn_probability as churn_propensity,
        churn_scores.churn_risk_tier,
        rfm.rfm_score,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        clusters.cluster_id,
        clusters.cluster_name,
        clusters.confidence as cluster_probability,
        observation_window.observation_end_at as segmented_at,
        observation_window.as_of_date,
        coalesce(rules.primary_rule_segment, 'general_audience') as primary_rule_segment,
        coalesce(rules.primary_rule_segment_group, 'general_audience')
            as primary_rule_segment_group,
        coalesce(rules.primary_rule_reason, 'no rule applies') as primary_rule_reason,
        coalesce(rfm.rfm_segment, 'No Purchase') as rfm_segment,
        coalesce(engagement.engagement_score, 0) as engagement_score,
        coalesce(engagement.engagement_tier, 'inactive') as engagement_tier,
        coalesce(content_blocks.content_block, 'default_homepage') as content_block
    from persons
    cross join observation_window
    left join rules
        on persons.person_id = rules.person_id
    left join rfm
        on persons.customer_id = rfm.customer_id
    left join engagement
        on persons.person_id = engagement.person_id
    left join clusters
        on persons.person_id = clusters.person_id
    left join churn_scores
        on persons.person_id = churn_scores.person_id
    left join content_blocks
        on coalesce(rules.primary_rule_segment, 'general_audience')
            = content_blocks.primary_rule_segment
)

select * from final
