-- One row per segment of every family (data contract section 4): members, share of all persons,
-- and KPIs (conversion rate, average order value, revenue per member, churn rate, engagement).
-- Segments with fewer members than var('segment_k_anonymity') are suppressed: counts and KPIs
-- are null and is_suppressed is true, so no small group can be singled out.
-- Outliers: average_order_value counts every completed order, as int_person_rfm_scored does;
-- average_order_value_without_outliers leaves out the orders whose total lies outside the outlier
-- fence of its currency (int_orders_permitted.is_outlier), and outlier_order_count says how many.
-- The person facts it adds up are segment_person_facts, which the semantic layer's metrics read.
with

person_facts as (
    select * from {{ ref('segment_person_facts') }}
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
