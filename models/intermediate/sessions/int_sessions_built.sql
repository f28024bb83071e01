-- Sessions built from the sessionized events, one row per session (data contract section 4):
-- who, when, how long, what happened, and how the visitor arrived (landing page, touches).
-- Incremental by visitor, as int_events_sessionized: a run rebuilds the sessions of the visitors
-- in int_events_visitors_changed from their rebuild_from_at on (the pre-hook deletes those) and
-- then empties that table (post-hook): its visitors are consumed once their sessions are rebuilt.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_visitors('started_at') }}",
    post_hook="delete from {{ ref('int_events_visitors_changed') }}",
    tags=['incremental'],
) }}
{%- set changed_relation = ref('int_events_visitors_changed') %}

with

{% if is_incremental() %}
events as (
    select sessionized.*
    from {{ ref('int_events_sessionized') }} as sessionized
    inner join {{ changed_relation }} as changed_visitors
        on sessionized.visitor_id = changed_visitors.visitor_id
    where sessionized.session_started_at >= changed_visitors.rebuild_from_at
),
{% else %}
events as (
    select * from {{ ref('int_events_sessionized') }}
),
{% endif %}

touches as (
    select
        session_id,
        channel,
        utm_source,
        utm_medium,
        utm_campaign,
        row_number() over (
            partition by session_id order by occurred_at asc, event_id asc
        ) as touch_from_start,
        row_number() over (
            partition by session_id order by occurred_at desc, event_id desc
        ) as touch_from_end
    from events
    where channel is not null
),

first_touch as (
    select * from touches
    where touch_from_start = 1
),

last_touch as (
    select * from touches
    where touch_from_end = 1
),

landing as (
    select
        session_id,
        page_url as landing_page_url,
        device_type,
        country,
        city
    from events
    where event_number_in_session = 1
),

aggregated as (
    select
        session_id,
        min(visitor_id) as visitor_id,
        min(person_id) as person_id,
        min(customer_id) as customer_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_view_count,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_view_count,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_cart_count,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchase_count,
        coalesce(sum(case when event_type = 'purchase' then revenue end), 0) as revenue,
        max(scroll_depth_pct) as max_scroll_depth_pct,
        coalesce(sum(engaged_seconds), 0) as engaged_seconds
    from events
    group by session_id
),

final as (
    select
        aggregated.session_id,
        aggregated.visitor_id,
        aggregated.person_id,
        aggregated.customer_id,
        aggregated.started_at,
        aggregated.ended_at,
        cast(aggregated.started_at as date) as session_date,
        {{ dbt.datediff('aggregated.started_at', 'aggregated.ended_at', 'second') }}
            as duration_seconds,
        aggregated.event_count,
        aggregated.page_view_count,
        aggregated.product_view_count,
        aggregated.add_to_cart_count,
        aggregated.purchase_count,
        aggregated.revenue,
        aggregated.max_scroll_depth_pct,
        aggregated.engaged_seconds,
        aggregated.event_count = 1 as is_bounce,
        aggregated.purchase_count > 0 as has_purchase,
        landing.landing_page_url,
        landing.device_type,
        landing.country,
        landing.city,
        first_touch.channel,
        first_touch.channel as first_touch_channel,
        first_touch.utm_source as first_touch_utm_source,
        first_touch.utm_medium as first_touch_utm_medium,
        first_touch.utm_campaign as first_touch_utm_campaign,
        last_touch.channel as last_touch_channel,
        last_touch.utm_source as last_touch_utm_source,
        last_touch.utm_medium as last_touch_utm_medium,
        last_touch.utm_campaign as last_touch_utm_campaign
    from aggregated
    inner join landing
        on aggregated.session_id = landing.session_id
    left join first_touch
        on aggregated.session_id = first_touch.session_id
    left join last_touch
        on aggregated.session_id = last_touch.session_id
)

select * from final
