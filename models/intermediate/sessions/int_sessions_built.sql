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

-- One pass of aggregates per session, then one pass over the three events each session needs
-- more of: its first (landing page, device, place) and its first and last with a channel
-- (touches; event_number_in_session orders a session's events by occurred_at, then event_id).
aggregated as (
    select
        session_id,
        min(visitor_id) as visitor_id,
        min(person_id) as person_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_view_count,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_view_count,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_cart_count,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchase_count,
        coalesce(sum(case when event_type = 'purchase' then revenue end), 0) as revenue,
        max(scroll_depth_pct) as max_scroll_depth_pct,
        coalesce(sum(engaged_seconds), 0) as engaged_seconds,
        min(case when channel is not null then event_number_in_session end) as first_touch_number,
        max(case when channel is not null then event_number_in_session end) as last_touch_number
    from events
    group by session_id
),

picked_events as (
    select
        events.session_id,
        {%- for column in ['page_url', 'device_type', 'country', 'city', 'channel', 'utm_source',
                           'utm_medium', 'utm_campaign'] %}
        events.{{ column }},
        {%- endfor %}
        events.event_number_in_session = 1 as is_landing,
        coalesce(events.event_number_in_session = aggregated.first_touch_number, false)
            as is_first_touch,
        coalesce(events.event_number_in_session = aggregated.last_touch_number, false)
            as is_last_touch
    from events
    inner join aggregated
        on events.session_id = aggregated.session_id
    where
        events.event_number_in_session = 1
        or events.event_number_in_session = aggregated.first_touch_number
        or events.event_number_in_session = aggregated.last_touch_number
),

picked as (
    select
        session_id,
        max(case when is_landing then page_url end) as landing_page_url,
        max(case when is_landing then device_type end) as landing_device_type,
        max(case when is_landing then country end) as landing_country,
        max(case when is_landing then city end) as landing_city,
        max(case when is_first_touch then channel end) as first_touch_channel,
        max(case when is_first_touch then utm_source end) as first_touch_utm_source,
        max(case when is_first_touch then utm_medium end) as first_touch_utm_medium,
        max(case when is_first_touch then utm_campaign end) as first_touch_utm_campaign,
        max(case when is_last_touch then channel end) as last_touch_channel,
        max(case when is_last_touch then utm_source end) as last_touch_utm_source,
        max(case when is_last_touch then utm_medium end) as last_touch_utm_medium,
        max(case when is_last_touch then utm_campaign end) as last_touch_utm_campaign
    from picked_events
    group by session_id
),

final as (
    select
        aggregated.session_id,
        aggregated.visitor_id,
        aggregated.person_id,
        persons.customer_id,
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
        picked.landing_page_url,
        picked.landing_device_type as device_type,
        picked.landing_country as country,
        picked.landing_city as city,
        picked.first_touch_channel as channel,
        picked.first_touch_channel,
        picked.first_touch_utm_source,
        picked.first_touch_utm_medium,
        picked.first_touch_utm_campaign,
        picked.last_touch_channel,
        picked.last_touch_utm_source,
        picked.last_touch_utm_medium,
        picked.last_touch_utm_campaign
    from aggregated
    inner join picked
        on aggregated.session_id = picked.session_id
    -- the customer of the session's person: on a shared device one session can hold events of
    -- two persons, and a second min() could pair one person with another person's customer
    left join {{ ref('int_persons') }} as persons
        on aggregated.person_id = persons.person_id
)

select * from final
