-- Engagement per person over the last var('engagement_window_days') days up to as_of: activity,
-- depth, shopping and email signals, preferences, and a weighted engagement score (0-100; each
-- metric capped by a var and scaled to 0-1, so scores compare across runs) with a tier.
-- One row per person with at least one session in the window.
{%- set weights = var('engagement_weights') %}
{%- set caps = var('engagement_caps') %}

with

sessions as (
    select * from {{ ref('int_sessions_built') }}
),

events as (
    select * from {{ ref('int_events_sessionized') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

window_start as (
    select
        {{ dbt.dateadd('day', -1 * var('engagement_window_days'), 'observation_end_at') }}
            as window_start_at,
        observation_end_at,
        as_of_date
    from observation_window
),

window_sessions as (
    select sessions.*
    from sessions
    cross join window_start
    where sessions.started_at >= window_start.window_start_at and sessions.person_id is not null
),

window_events as (
    select events.*
    from events
    cross join window_start
    where events.occurred_at >= window_start.window_start_at and events.person_id is not null
),

session_metrics as (
    select
        person_id,
        min(customer_id) as customer_id,
        count(*) as session_count,
        count(distinct session_date) as active_days,
        avg(duration_seconds) as avg_session_duration_seconds,
        avg(page_view_count + product_view_count) as pages_per_session,
        sum(engaged_seconds) as engaged_seconds,
        sum(case when add_to_cart_count > 0 and not has_purchase then 1 else 0 end)
            as cart_abandonment_count,
        sum(case when has_purchase then 1 else 0 end) as converting_session_count,
        max(started_at) as last_session_at
    from window_sessions
    group by 1
),

event_metrics as (
    select
        person_id,
        avg(scroll_depth_pct) as avg_scroll_depth_pct,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_view_count,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_cart_count,
        sum(case when event_type = 'email_open' then 1 else 0 end) as email_open_count,
        sum(case when event_type = 'email_click' then 1 else 0 end) as email_click_count
    from window_events
    group by 1
),

branded_views as (
    select
        window_events.person_id,
        products.brand
    from window_events
    inner join products
        on window_events.product_id = products.product_id
    where window_events.event_type = 'product_view'
),

preference_facts as (
    select
        person_id,
        'category' as dimension,
        category as preferred_value
    from window_events
    where event_type = 'product_view' and category is not null
    union all
    select
        person_id,
        'brand' as dimension,
        brand as preferred_value
    from branded_views
    where brand is not null
    union all
    select
        person_id,
        'device_type' as dimension,
        device_type as preferred_value
    from window_sessions
    where device_type is not null
    union all
    select
        person_id,
        'channel' as dimension,
        channel as preferred_value
    from window_sessions
    where channel is not null
    union all
    select
        person_id,
        'daypart' as dimension,
        {{ daypart_expression('occurred_at') }} as preferred_value
    from window_events
    union all
    select
        person_id,
        'weekday' as dimension,
        {{ dbt.cast('extract(dayofweek from occurred_at)', dbt.type_string()) }} as preferred_value
    from window_events
),

preference_counts as (
    select
        person_id,
        dimension,
        preferred_value,
        count(*) as value_count
    from preference_facts
    group by 1, 2, 3
),

top_preferences as (
    select
        person_id,
        dimension,
        preferred_value,
        row_number() over (
            partition by person_id, dimension
            order by value_count desc, preferred_value asc
        ) as preference_rank
    from preference_counts
),

preferences as (
    select
        person_id,
        max(case when dimension = 'category' then preferred_value end) as favourite_category,
        max(case when dimension = 'brand' then preferred_value end) as favourite_brand,
        max(case when dimension = 'device_type' then preferred_value end)
            as preferred_device_type,
        max(case when dimension = 'channel' then preferred_value end) as preferred_channel,
        max(case when dimension = 'daypart' then preferred_value end) as preferred_daypart,
        max(case when dimension = 'weekday' then preferred_value end) as preferred_weekday
    from top_preferences
    where preference_rank = 1
    group by 1
),

combined as (
    select
        session_metrics.person_id,
        session_metrics.customer_id,
        session_metrics.session_count,
        session_metrics.active_days,
        session_metrics.avg_session_duration_seconds,
        session_metrics.pages_per_session,
        session_metrics.engaged_seconds,
        coalesce(event_metrics.avg_scroll_depth_pct, 0) as avg_scroll_depth_pct,
        coalesce(event_metrics.product_view_count, 0) as product_view_count,
        coalesce(event_metrics.add_to_cart_count, 0) as add_to_cart_count,
        session_metrics.cart_abandonment_count,
        session_metrics.converting_session_count,
        coalesce(event_metrics.email_open_count, 0) as email_open_count,
        coalesce(event_metrics.email_click_count, 0) as email_click_count,
        case
            when coalesce(event_metrics.email_open_count, 0) > 0
                then 1.0 * event_metrics.email_click_count / event_metrics.email_open_count
        end as email_click_through_rate,
        {{ dbt.datediff(
            'session_metrics.last_session_at', 'window_start.observation_end_at', 'day'
        ) }} as days_since_last_visit,
        preferences.favourite_category,
        preferences.favourite_brand,
        preferences.preferred_device_type,
        preferences.preferred_channel,
        preferences.preferred_daypart,
        cast(preferences.preferred_weekday as {{ dbt.type_int() }}) as preferred_weekday
    from session_metrics
    cross join window_start
    left join event_metrics on session_metrics.person_id = event_metrics.person_id
    left join preferences on session_metrics.person_id = preferences.person_id
),

-- noqa: disable=LT02
scored as (
    select
        *,
        round(100.0 * (
            {%- for metric, weight in weights.items() %}
            {{ weight }} * least(coalesce({{ metric }}, 0) / {{ caps[metric] }}, 1.0)
            {%- if not loop.last %} +{% endif %}
            {%- endfor %}
        ) / {{ weights.values() | sum }}, 2) as engagement_score
    from combined
),
-- noqa: enable=LT02

final as (
    select
        *,
        case
            when engagement_score >= {{ var('engagement_tier_thresholds')['high'] }} then 'high'
            when engagement_score >= {{ var('engagement_tier_thresholds')['medium'] }} then 'medium'
            else 'low'
        end as engagement_tier
    from scored
)

select * from final
