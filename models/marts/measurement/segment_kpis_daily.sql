-- Segment KPIs over time: one row per day, segment family and segment, appended by every build
-- (incremental by kpi_date = as_of: a build replaces its own day and keeps the others, so a
-- dashboard draws trends without rebuilding history; a build for an earlier as_of backfills
-- that day; --full-refresh keeps the history too, as the model logs do: it is what was known
-- on each day, which a later backfill cannot reproduce). Members are those of
-- segment_memberships at the end of as_of (every daily family, plus 'all'; the real-time
-- family follows the stream clock and is left out), the KPIs over the
-- var('segment_kpi_window_days') days up to the end of as_of: active members (a session),
-- converted members and conversion rate (a completed order), revenue, orders, average order
-- value, revenue per member, mean engagement score (customer_engagement), churned members
-- (lapsed customers: customer_segments.is_lapsed_customer) and churn rate among buyers.
-- Segments under var('segment_k_anonymity') members are suppressed (counts and KPIs null).
-- Aggregates only: no person can be read back from a kept day.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='kpi_date',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}
{%- set k = var('segment_k_anonymity') %}

with

memberships as (
    select * from {{ ref('segment_memberships') }}
    where segment_family != 'realtime'
),

persons as (
    select * from {{ ref('int_persons') }}
),

segments as (
    select * from {{ ref('customer_segments') }}
),

engagement as (
    select * from {{ ref('customer_engagement') }}
),

sessions as (
    select * from {{ ref('sessions') }}
    where person_id is not null
),

orders as (
    select * from {{ ref('int_person_orders') }}
    where status = 'completed'
),

observation_window as (
    select
        *,
        {{ dbt.dateadd('day', -1 * var('segment_kpi_window_days'), 'observation_end_at') }}
            as kpi_window_starts_at
    from {{ ref('stg_observation_window') }}
),

window_sessions as (
    select
        sessions.person_id,
        count(*) as session_count
    from sessions
    cross join observation_window
    where
        sessions.started_at >= observation_window.kpi_window_starts_at
        and sessions.started_at < observation_window.observation_end_at
    group by sessions.person_id
),

window_orders as (
    select
        orders.person_id,
        count(distinct orders.order_id) as order_count,
        sum(orders.total_amount) as revenue
    from orders
    cross join observation_window
    where
        orders.ordered_at >= observation_window.kpi_window_starts_at
        and orders.ordered_at < observation_window.observation_end_at
    group by orders.person_id
),

ever_buyers as (
    select distinct person_id from orders
),

person_facts as (
    select
        persons.person_id,
        case when window_sessions.person_id is not null then 1 else 0 end as is_active,
        case when window_orders.person_id is not null then 1 else 0 end as has_converted,
        coalesce(window_orders.order_count, 0) as order_count,
        coalesce(window_orders.revenue, 0) as revenue,
        coalesce(engagement.engagement_score, 0) as engagement_score,
        case when ever_buyers.person_id is not null then 1 else 0 end as is_buyer,
        case
            when ever_buyers.person_id is not null and segments.is_lapsed_customer then 1
            else 0
        end as is_churned
    from persons
    left join window_sessions
        on persons.person_id = window_sessions.person_id
    left join window_orders
        on persons.person_id = window_orders.person_id
    left join engagement
        on persons.person_id = engagement.person_id
    left join segments
        on persons.person_id = segments.person_id
    left join ever_buyers
        on persons.person_id = ever_buyers.person_id
),

member_facts as (
    select
        'all' as segment_family,
        'all' as segment_name,
        person_facts.*
    from person_facts
    union all
    select
        memberships.segment_family,
        memberships.segment_name,
        person_facts.*
    from memberships
    inner join person_facts
        on memberships.person_id = person_facts.person_id
),

aggregated as (
    select
        segment_family,
        segment_name,
        count(*) as member_count,
        sum(is_active) as active_member_count,
        sum(has_converted) as converted_member_count,
        sum(order_count) as order_count,
        sum(revenue) as revenue,
        {{ exact_avg('engagement_score') }} as avg_engagement_score,
        sum(is_buyer) as buyer_count,
        sum(is_churned) as churned_member_count
    from member_facts
    group by segment_family, segment_name
),

-- the KPIs of the segments large enough to show (k-anonymity)
shown as (
    select
        segment_family,
        segment_name,
        member_count,
        active_member_count,
        converted_member_count,
        order_count,
        revenue,
        churned_member_count,
        round(1.0 * active_member_count / member_count, 4) as active_share,
        round(1.0 * converted_member_count / member_count, 4) as conversion_rate,
        case when order_count > 0 then round(revenue / order_count, 2) end
            as average_order_value,
        round(revenue / member_count, 2) as revenue_per_member,
        round(avg_engagement_score, 2) as avg_engagement_score,
        case
            when buyer_count > 0 then round(1.0 * churned_member_count / buyer_count, 4)
        end as churn_rate
    from aggregated
    where member_count >= {{ k }}
),

final as (
    select
        observation_window.as_of_date as kpi_date,
        aggregated.segment_family,
        aggregated.segment_name,
        shown.member_count,
        shown.active_member_count,
        shown.active_share,
        shown.converted_member_count,
        shown.conversion_rate,
        shown.order_count,
        shown.revenue,
        shown.average_order_value,
        shown.revenue_per_member,
        shown.avg_engagement_score,
        shown.churned_member_count,
        shown.churn_rate,
        {{ var('segment_kpi_window_days') }} as window_days,
        shown.segment_name is null as is_suppressed
    from aggregated
    cross join observation_window
    left join shown
        on
            aggregated.segment_family = shown.segment_family
            and aggregated.segment_name = shown.segment_name
)

select * from final
