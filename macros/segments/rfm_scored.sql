{% macro rfm_scored(key) %}
    {#-
        The RFM and buy-till-you-die CTEs, keyed by `key` (customer_id in customer_rfm, person_id
        in int_person_rfm_scored), ending in `select * from final`. The caller defines the CTEs
        `orders` (completed orders with `key`, order_id, ordered_at, ordered_date,
        total_amount), `observation_window` and `segment_map`. A purchase day is a UTC calendar
        day with at least one completed order of the key (two ids of one person buying on the
        same day make one purchase day); quintile scores use ntile(5) with deterministic
        tie-breaks (the next metric, then the key).
    -#}
purchase_days as (
    select
        {{ key }},
        ordered_date as purchase_date,
        sum(total_amount) as day_revenue
    from orders
    group by 1, 2
),

purchase_days_numbered as (
    select
        *,
        row_number() over (partition by {{ key }} order by purchase_date) as purchase_day_number
    from purchase_days
),

by_day as (
    select
        {{ key }},
        count(*) as purchase_days,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        sum(case when purchase_day_number > 1 then day_revenue end) as repeat_revenue
    from purchase_days_numbered
    group by 1
),

by_order as (
    select
        {{ key }},
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(distinct order_id) as order_count,
        sum(total_amount) as monetary_total
    from orders
    group by 1
),

summary as (
    select
        by_order.{{ key }},
        by_order.first_order_at,
        by_order.last_order_at,
        by_order.order_count,
        by_day.purchase_days,
        by_order.monetary_total,
        cast(by_order.monetary_total / by_order.order_count as decimal(18, 2)) as monetary_avg,
        {{ dbt.datediff('by_day.last_purchase_date', 'observation_window.as_of_date', 'day') }}
            as recency_days,
        by_day.purchase_days - 1 as btyd_frequency,
        {{ dbt.datediff('by_day.first_purchase_date', 'by_day.last_purchase_date', 'day') }}
            as btyd_recency_days,
        {{ dbt.datediff('by_day.first_purchase_date', 'observation_window.as_of_date', 'day') }}
            as btyd_t_days,
        case
            when by_day.purchase_days > 1
                then cast(by_day.repeat_revenue / (by_day.purchase_days - 1) as decimal(18, 6))
            else cast(0 as decimal(18, 6))
        end as btyd_monetary_avg
    from by_order
    inner join by_day
        on by_order.{{ key }} = by_day.{{ key }}
    cross join observation_window
),

scored as (
    select
        *,
        ntile(5) over (
            order by recency_days desc, last_order_at asc, {{ key }} desc
        ) as r_score,
        ntile(5) over (
            order by order_count asc, purchase_days asc, monetary_total asc, {{ key }} asc
        ) as f_score,
        ntile(5) over (
            order by monetary_total asc, order_count asc, {{ key }} asc
        ) as m_score
    from summary
),

segmented as (
    select
        scored.{{ key }},
        segment_map.segment_name,
        row_number() over (
            partition by scored.{{ key }} order by segment_map.priority
        ) as match_rank
    from scored
    inner join segment_map
        on
            scored.r_score between segment_map.r_min and segment_map.r_max
            and scored.f_score between segment_map.f_min and segment_map.f_max
            and scored.m_score between segment_map.m_min and segment_map.m_max
),

final as (
    select
        scored.*,
        {{ dbt.concat([dbt.cast('scored.r_score', dbt.type_string()),
                       dbt.cast('scored.f_score', dbt.type_string()),
                       dbt.cast('scored.m_score', dbt.type_string())]) }} as rfm_score,
        coalesce(segmented.segment_name, 'Others') as rfm_segment
    from scored
    left join segmented
        on
            scored.{{ key }} = segmented.{{ key }}
            and segmented.match_rank = 1
)

select * from final
{% endmacro %}
