-- Real-time segments, one row per person with events in the real-time window, evaluated as of
-- the stream clock (the latest accepted event, evaluated_at). Refreshed by the fast path
-- (`dbt build --selector realtime`) after every micro-batch; thresholds are the rule vars:
--   cart_abandoner: added to cart, no purchase within rule_cart_purchase_window_minutes, in the
--     last realtime_recent_hours, and no purchase since (a purchase takes the person out);
--   high_value_cart_abandoner: the same, with abandoned items worth more than rule_cart_min_value;
--   high_intent_product_viewer: the same product viewed more than rule_product_view_min_count
--     times in the last rule_product_view_window_days;
--   rapid_product_browser: more than rule_browse_burst_min_count product views within
--     rule_browse_burst_window_minutes, in the last realtime_recent_hours.
{{ config(**realtime_config()) }}

with

events as (
    select * from {{ ref('int_realtime_events') }}
    where person_id is not null
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

clock as (
    select
        max(stream_clock_at) as evaluated_at,
        {{ dbt.dateadd('hour', -1 * var('realtime_recent_hours'), 'max(stream_clock_at)') }}
            as recent_start_at,
        {{ dbt.dateadd('day', -1 * var('rule_product_view_window_days'), 'max(stream_clock_at)') }}
            as view_window_start_at
    from events
),

product_views as (
    select *
    from events
    where event_type = 'product_view' and product_id is not null
),

recent_product_views as (
    select product_views.*
    from product_views
    cross join clock
    where product_views.occurred_at > clock.recent_start_at
),

cart_adds as (
    select
        events.*,
        coalesce(products.price, 0) as item_value
    from events
    cross join clock
    left join products
        on events.product_id = products.product_id
    where
        events.event_type = 'add_to_cart'
        and events.occurred_at > clock.recent_start_at
),

purchases as (
    select * from events
    where event_type = 'purchase'
),

abandoned_adds as (
    {{ not_followed_by('cart_adds', 'purchases', 'person_id',
                       var('rule_cart_purchase_window_minutes'),
                       '(select evaluated_at from clock)') }}
),

-- abandoned and still open: no purchase at any time after the add
open_abandoned_adds as (
    select *
    from abandoned_adds
    where not exists (
            select 1
            from purchases
            where
                purchases.person_id = abandoned_adds.person_id
                and purchases.occurred_at >= abandoned_adds.occurred_at
        )
),

abandonment as (
    select
        person_id,
        count(*) as open_abandoned_cart_adds,
        sum(item_value) as open_abandoned_cart_value,
        min(occurred_at) as first_abandoned_at,
        max(occurred_at) as last_abandoned_at
    from open_abandoned_adds
    group by person_id
),

same_product_views as (
    select
        product_views.person_id,
        product_views.product_id,
        count(*) as view_count
    from product_views
    cross join clock
    where product_views.occurred_at > clock.view_window_start_at
    group by product_views.person_id, product_views.product_id
),

high_intent as (
    select
        person_id,
        max(view_count) as max_same_product_views
    from same_product_views
    group by person_id
),

-- the same product viewed again and again within realtime_recent_hours (journeys' "more than 3
-- views in 24 hours"), with the moment the person's latest such view happened
same_product_recent_views as (
    select
        person_id,
        product_id,
        count(*) as view_count
    from recent_product_views
    group by person_id, product_id
),

recent_high_intent as (
    select
        person_id,
        max(view_count) as max_same_product_views_recent
    from same_product_recent_views
    group by person_id
),

burst_views as (
    {{ rolling_event_count('recent_product_views', ['person_id'],
                           var('rule_browse_burst_window_minutes')) }}
),

bursts as (
    select
        person_id,
        max(window_event_count) as max_product_views_in_burst_window
    from burst_views
    group by person_id
),

persons as (
    select
        person_id,
        max(customer_id) as customer_id,
        max(occurred_at) as last_event_at,
        count(*) as window_event_count
    from events
    group by person_id
),

signals as (
    select
        persons.person_id,
        persons.customer_id,
        persons.last_event_at,
        persons.window_event_count,
        abandonment.first_abandoned_at,
        abandonment.last_abandoned_at,
        clock.evaluated_at,
        coalesce(abandonment.open_abandoned_cart_adds, 0) as open_abandoned_cart_adds,
        coalesce(abandonment.open_abandoned_cart_value, 0) as open_abandoned_cart_value,
        coalesce(high_intent.max_same_product_views, 0) as max_same_product_views,
        coalesce(recent_high_intent.max_same_product_views_recent, 0)
            as max_same_product_views_recent,
        coalesce(bursts.max_product_views_in_burst_window, 0) as max_product_views_in_burst_window
    from persons
    cross join clock
    left join abandonment on persons.person_id = abandonment.person_id
    left join high_intent on persons.person_id = high_intent.person_id
    left join recent_high_intent on persons.person_id = recent_high_intent.person_id
    left join bursts on persons.person_id = bursts.person_id
),

final as (
    select
        person_id,
        customer_id,
        open_abandoned_cart_adds > 0 as is_cart_abandoner,
        open_abandoned_cart_value > {{ var('rule_cart_min_value') }}
            as is_high_value_cart_abandoner,
        max_same_product_views > {{ var('rule_product_view_min_count') }}
            as is_high_intent_product_viewer,
        max_product_views_in_burst_window > {{ var('rule_browse_burst_min_count') }}
            as is_rapid_product_browser,
        open_abandoned_cart_adds,
        open_abandoned_cart_value,
        first_abandoned_at,
        last_abandoned_at,
        max_same_product_views,
        max_same_product_views_recent,
        max_product_views_in_burst_window,
        window_event_count,
        last_event_at,
        evaluated_at
    from signals
)

select * from final
