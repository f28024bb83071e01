-- The table BI dashboards and activation tools read (data contract section 4): one row per
-- person with every segment membership that exists so far (rules, RFM, engagement tier) and the
-- content block to show, the person's cluster (with its membership probability) and churn
-- propensity (customers with a past purchase; null for everyone else).
-- The content block is the person's decision for the slot content_primary_slot
-- (content_decisions: personalization consent, the activation holdout and seeds/content_rules.csv
-- decide it). has_marketing_consent tells activation whom it may contact.
-- A person is one human: customer_ids lists all its user ids (CRM records of one human linked by
-- a shared e-mail or phone key), and the RFM scores combine all their orders
-- (int_person_rfm_scored), so a CRM twin is one row here, not two.
-- No raw PII: only ids, segments and scores.
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

content_decisions as (
    select * from {{ ref('content_decisions') }}
    where slot = '{{ var("content_primary_slot") }}'
),

consents as (
    select * from {{ ref('int_person_consents') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

final as (
    select
        persons.person_id,
        persons.customer_id,
        persons.customer_count,
        persons.customer_ids,
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
        content_decisions.content_block_id as content_block,
        content_decisions.reason as content_block_reason,
        observation_window.observation_end_at as segmented_at,
        observation_window.as_of_date,
        coalesce(rules.primary_rule_segment, 'general_audience') as primary_rule_segment,
        coalesce(rules.primary_rule_segment_group, 'general_audience')
            as primary_rule_segment_group,
        coalesce(rules.primary_rule_reason, 'no rule applies') as primary_rule_reason,
        coalesce(rfm.rfm_segment, 'No Purchase') as rfm_segment,
        coalesce(engagement.engagement_score, 0) as engagement_score,
        coalesce(engagement.engagement_tier, 'inactive') as engagement_tier,
        coalesce(personalization.is_granted_latest, false) as has_personalization_consent,
        coalesce(marketing.is_granted_latest, false) as has_marketing_consent
    from persons
    cross join observation_window
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
    left join content_decisions
        on persons.person_id = content_decisions.person_id
    left join consents as personalization
        on
            persons.person_id = personalization.person_id
            and personalization.purpose = 'personalization'
    left join consents as marketing
        on
            persons.person_id = marketing.person_id
            and marketing.purpose = 'marketing'
)

select * from final
