-- One row per segmented person (customer_segments): the person's segment in every family and the
-- facts the segment KPIs add up: revenue and completed orders (int_person_rfm_scored, as
-- customer_rfm counts them), the same without outlier orders, sessions and converting sessions
-- (customer_engagement), whether the person is a buyer and a churned (lapsed) buyer, the
-- engagement score and churn propensity. segment_summary aggregates it per segment, and the
-- semantic layer (models/semantic/) defines the same KPIs as MetricFlow metrics over it, so a BI
-- tool that queries the metrics reads the numbers of the mart.
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

final as (
    select
        segments.person_id,
        segments.as_of_date,
        segments.primary_rule_segment,
        segments.primary_rule_segment_group,
        segments.rfm_segment,
        segments.engagement_tier,
        segments.cluster_name,
        segments.churn_risk_tier,
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
)

select * from final
