-- One row per segment of every family (data contract section 4): members, share of all persons,
-- and KPIs (conversion rate, average order value, revenue per member, churn rate, engagement).
-- Segments with fewer members than var('segment_k_anonymity') are suppressed: counts and KPIs
-- are null and is_suppressed is true, so no small group can be singled out.
-- Outliers: average_order_value counts every completed order, as int_person_rfm_scored does;
-- average_order_value_without_outliers leaves out the orders whose total lies outside the outlier
-- fence of its currency (int_orders_permitted.is_outlier), and outlier_order_count says how many.
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

-- the orders int_person_rfm_scored counts: completed, of any of the person's customer ids
orders as (
    select * from {{ ref('int_person_orders') }}
    where status = 'completed'
),

person_orders_without_outliers as (
    select
        person_id,
        sum(case when not is_outlier then total_amount else 0 end) as revenue_without_outliers,
        count(distinct case when not is_outlier then order_id end)
            as order_count_without_outliers,
        count(distinct case when is_outlier then order_id end) as outlier_order_count
    from orders
    group by 1
),

person_facts as (
    select
        segments.person_id,
        segments.primary_rule_segment,
        segments.primary_rule_segment_group,
        segments.rfm_segment,
        segments.engagement_tier,
        segments.cluster_name,
        segments.engagement_score,
        segments.churn_propensity,
        coalesce(rfm.monetary_total, 0) as revenue,
        coalesce(rfm.order_count, 0) as order_count,
        coalesce(person_orders.revenue_without_outliers, 0) as revenue_without_outliers,
        coalesce(person_orders.order_count_without_outliers, 0) as order_count_without_outliers,
        coalesce(person_orders.outlier_order_count, 0) as outlier_order_count,
        coalesce(engagement.session_count, 0) as session_count,
        coalesce(engagement.converting_session_count, 0) as converting_session_count,
        case when rfm.person_id is not null then 1 else 0 end as is_buyer,
        case when rfm.person_id is not null and segments.is_lapsed_customer then 1 else 0 end
            as is_churned_buyer
    from segments
    left join engagement
        on segments.person_id = engagement.person_id
    left join rfm
        on segments.person_id = rfm.person_id
    left join person_orders_without_outliers as person_orders
        on segments.person_id = person_orders.person_id
),

memberships as (
    select
        'rule' as segment_family,
        primary_rule_segment as segment_name,
        *
    from person_facts
    union all
    select
        'rule_group' as segment_family,
        primary_rule_segment_group as segment_name,
        *
    from person_facts
    union all
    select
        'rfm' as segment_family,
        rfm_segment as segment_name,
        *
    from person_facts
    union all
    select
        'cluster' as segment_family,
        coalesce(cluster_name, 'unclustered') as segment_name,
        *
    from person_facts
    union all
    select
        'engagement_tier' as segment_family,
        engagement_tier as segment_name,
        *
    from person_facts
),

population as (
    select count(*) as person_count from person_facts
),

aggregated as (
    select
        segment_family,
        segment_name,
        count(*) as member_count,
        sum(session_count) as session_count,
        sum(converting_session_count) as converting_session_count,
        {{ exact_sum('revenue') }} as revenue,
        sum(order_count) as order_count,
        {{ exact_sum('revenue_without_outliers') }} as revenue_without_outliers,
        sum(order_count_without_outliers) as order_count_without_outliers,
        sum(outlier_order_count) as outlier_order_count,
        sum(is_buyer) as buyer_count,
        sum(is_churned_buyer) as churned_buyer_count,
        -- exact sums: the same input gives the same bits, whatever the order of addition
        {{ exact_avg('engagement_score') }} as avg_engagement_score,
        {{ exact_avg('churn_propensity') }} as avg_churn_propensity
    from memberships
    group by 1, 2
),

final as (
    select
        aggregated.segment_family,
        aggregated.segment_name,
        aggregated.member_count < {{ var('segment_k_anonymity') }} as is_suppressed,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                then aggregated.member_count
        end as member_count,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                then round(1.0 * aggregated.member_count / population.person_count, 4)
        end as member_share,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                and aggregated.session_count > 0
                then round(1.0 * aggregated.converting_session_count / aggregated.session_count, 4)
        end as conversion_rate,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                and aggregated.order_count > 0
                then round(aggregated.revenue / aggregated.order_count, 2)
        end as average_order_value,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                and aggregated.order_count_without_outliers > 0
                then round(
                        aggregated.revenue_without_outliers
                        / aggregated.order_count_without_outliers,
                        2
                    )
        end as average_order_value_without_outliers,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                then cast(aggregated.outlier_order_count as {{ dbt.type_bigint() }})
        end as outlier_order_count,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                then round(aggregated.revenue / aggregated.member_count, 2)
        end as revenue_per_member,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                and aggregated.buyer_count > 0
                then round(1.0 * aggregated.churned_buyer_count / aggregated.buyer_count, 4)
        end as churn_rate,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                then round(aggregated.avg_engagement_score, 2)
        end as avg_engagement_score,
        case
            when aggregated.member_count >= {{ var('segment_k_anonymity') }}
                then round(aggregated.avg_churn_propensity, 4)
        end as avg_churn_propensity
    from aggregated
    cross join population
)

select * from final
