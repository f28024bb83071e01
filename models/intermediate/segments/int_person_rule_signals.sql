-- The behaviours behind the rule-based segments, one row per person seen in events or orders:
-- each rule's flag with its evidence, evaluated on events of the last var('rules_lookback_days')
-- days up to the end of as_of. Thresholds and windows are vars (see dbt_project.yml).
with

events as (
    select * from {{ ref('int_events_sessionized') }}
    where person_id is not null
),

sessions as (
    select * from {{ ref('int_sessions_built') }}
    where person_id is not null
),

orders as (
    select * from {{ ref('int_orders_permitted') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

observation_window as (
    select
        observation_end_at,
        {{ dbt.dateadd('day', -1 * var('rules_lookback_days'), 'observation_end_at') }}
            as lookback_start_at
    from {{ ref('stg_observation_window') }}
),

recent_events as (
    select events.*
    from events
    cross join observation_window
    where events.occurred_at >= observation_window.lookback_start_at
),

recent_sessions as (
    select sessions.*
    from sessions
    cross join observation_window
    where sessions.started_at >= observation_window.lookback_start_at
),

product_views as (
    select * from recent_events
    where event_type = 'product_view' and product_id is not null
),

cart_adds as (
    select
        recent_events.*,
        coalesce(products.price, 0) as item_value
    from recent_events
    left join products
        on recent_events.product_id = products.product_id
    where recent_events.event_type = 'add_to_cart'
),

purchases as (
    select * from events
    where event_type = 'purchase'
),

-- viewed the same product more than N times within any window of D days
same_product_views as (
    {{ rolling_event_count('product_views', ['person_id', 'product_id'],
                           var('rule_product_view_window_days') * 24 * 60) }}
),

high_intent as (
    select
        person_id,
        max(window_event_count) as max_same_product_views
    from same_product_views
    group by person_id
),

-- viewed more than N product pages within any window of M minutes
burst_views as (
    {{ rolling_event_count('product_views', ['person_id'],
                           var('rule_browse_burst_window_minutes')) }}
),

bursts as (
    select
        person_id,
        max(window_event_count) as max_product_views_in_burst_window
    from burst_views
    group by person_id
),

-- added to cart and did not purchase within M minutes
abandoned_adds as (
    {{ not_followed_by('cart_adds', 'purchases', 'person_id',
                       var('rule_cart_purchase_window_minutes'),
                       '(select observation_end_at from observation_window)') }}
),

abandonment as (
    select
        abandoned_adds.person_id,
        count(*) as abandoned_cart_add_count,
        sum(
            case
                when abandoned_adds.occurred_at
                    >= {{ dbt.dateadd('hour', -1 * var('rule_cart_recent_hours'),
                                      'observation_window.observation_end_at') }}
                    then abandoned_adds.item_value
                else 0
            end
        ) as recent_abandoned_cart_value
    from abandoned_adds
    cross join observation_window
    group by abandoned_adds.person_id
),

category_views as (
    select
        person_id,
        category,
        count(*) as category_view_count,
        row_number() over (
            partition by person_id order by count(*) desc, category asc
        ) as category_rank
    from product_views
    where category is not null
    group by person_id, category
),

session_behaviour as (
    select
        person_id,
        count(*) as recent_session_count,
        max(duration_seconds) as max_session_seconds,
        max(max_scroll_depth_pct) as max_scroll_depth_pct,
        sum(
            case
                when device_type = 'mobile' and {{ daypart_expression('started_at') }} = 'night'
                    then 1
                else 0
            end
        ) as late_night_mobile_sessions,
        sum(case when has_purchase then 1 else 0 end) as converting_sessions,
        sum(
            case
                when has_purchase and {{ is_discount_campaign('first_touch_utm_campaign') }}
                    then 1
                else 0
            end
        ) as discount_converting_sessions
    from recent_sessions
    group by person_id
),

person_orders as (
    select
        resolved.person_id,
        count(*) as completed_order_count,
        max(orders.ordered_at) as last_order_at,
        max(
            case
                when orders.ordered_at
                    >= {{ dbt.dateadd('day', -1 * var('rule_high_value_order_days'),
                                                         'observation_window.observation_end_at') }}
                    then orders.total_amount
            end
        ) as max_recent_order_amount
    from orders
    inner join resolved
        on
            orders.customer_id = resolved.id_value
            and resolved.id_type = 'user_id'
    cross join observation_window
    where orders.status = 'completed'
    group by resolved.person_id
),

first_seen as (
    select
        person_id,
        min(occurred_at) as first_seen_at
    from events
    group by person_id
),

persons as (
    select person_id from first_seen
    union
    select person_id from person_orders
),

final as (
    select
        persons.person_id,
        top_category.category as top_viewed_category,
        person_orders.last_order_at,
        first_seen.first_seen_at,
        observation_window.observation_end_at,
        coalesce(high_intent.max_same_product_views, 0) as max_same_product_views,
        coalesce(bursts.max_product_views_in_burst_window, 0) as max_product_views_in_burst_window,
        coalesce(abandonment.abandoned_cart_add_count, 0) as abandoned_cart_add_count,
        coalesce(abandonment.recent_abandoned_cart_value, 0) as recent_abandoned_cart_value,
        coalesce(top_category.category_view_count, 0) as top_category_view_count,
        coalesce(session_behaviour.recent_session_count, 0) as recent_session_count,
        coalesce(session_behaviour.max_session_seconds, 0) as max_session_seconds,
        coalesce(session_behaviour.max_scroll_depth_pct, 0) as max_scroll_depth_pct,
        coalesce(session_behaviour.late_night_mobile_sessions, 0) as late_night_mobile_sessions,
        coalesce(session_behaviour.converting_sessions, 0) as converting_sessions,
        coalesce(session_behaviour.discount_converting_sessions, 0) as discount_converting_sessions,
        coalesce(person_orders.completed_order_count, 0) as completed_order_count,
        coalesce(person_orders.max_recent_order_amount, 0) as max_recent_order_amount
    from persons
    cross join observation_window
    left join high_intent on persons.person_id = high_intent.person_id
    left join bursts on persons.person_id = bursts.person_id
    left join abandonment on persons.person_id = abandonment.person_id
    left join category_views as top_category
        on
            persons.person_id = top_category.person_id
            and top_category.category_rank = 1
    left join session_behaviour on persons.person_id = session_behaviour.person_id
    left join person_orders on persons.person_id = person_orders.person_id
    left join first_seen on persons.person_id = first_seen.person_id
)

select * from final
