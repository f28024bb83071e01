-- Point-in-time customer features for the churn model, two snapshots per customer
-- (snapshot_kind):
--   training: features from activity strictly before cutoff_at = observation_end_at minus
--             churn_horizon_days, and the label is_churned = no completed order in the
--             following churn_horizon_days (up to observation_end_at). Nothing after the cutoff
--             enters a training feature, so there is no leakage.
--   scoring:  the same features as of observation_end_at (label unknown: null).
-- Only customers with at least one completed order before the snapshot's cutoff are included
-- (churn is about customers who have bought). A customer is a person: the orders of all its
-- customer ids (int_person_orders) count, and customer_id is the primary one.
with

orders as (
    select * from {{ ref('int_person_orders') }}
    where status = 'completed'
),

sessions as (
    select * from {{ ref('int_sessions_built') }}
    where person_id is not null
),

persons as (
    select * from {{ ref('int_persons') }}
    where customer_id is not null
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

snapshots as (
    select
        'training' as snapshot_kind,
        {{ dbt.dateadd('day', -1 * var('churn_horizon_days'), 'observation_end_at') }}
            as cutoff_at,
        observation_end_at as label_end_at
    from observation_window
    union all
    select
        'scoring' as snapshot_kind,
        observation_end_at as cutoff_at,
        cast(null as {{ dbt.type_timestamp() }}) as label_end_at
    from observation_window
),

order_history as (
    select
        snapshots.snapshot_kind,
        orders.person_id,
        count(distinct orders.order_id) as order_count,
        sum(orders.total_amount) as monetary_total,
        min(orders.ordered_at) as first_order_at,
        max(orders.ordered_at) as last_order_at,
        count(distinct case
            when orders.ordered_at >= {{ dbt.dateadd('day', -30, 'snapshots.cutoff_at') }}
                then orders.order_id
        end) as orders_last_30_days,
        count(distinct case
            when orders.ordered_at >= {{ dbt.dateadd('day', -90, 'snapshots.cutoff_at') }}
                then orders.order_id
        end) as orders_last_90_days
    from snapshots
    inner join orders
        on snapshots.cutoff_at > orders.ordered_at
    group by
        snapshots.snapshot_kind,
        orders.person_id
),

session_history as (
    select
        snapshots.snapshot_kind,
        sessions.person_id,
        count(*) as session_count,
        sum(
            case
                when sessions.started_at >= {{ dbt.dateadd('day', -30, 'snapshots.cutoff_at') }}
                    then 1
                else 0
            end
        ) as sessions_last_30_days,
        max(sessions.started_at) as last_session_at,
        avg(case when sessions.add_to_cart_count > 0 then 1.0 else 0.0 end)
            as cart_session_share,
        avg(
            case
                when {{ is_discount_campaign('sessions.first_touch_utm_campaign') }} then 1.0
                else 0.0
            end
        ) as discount_session_share,
        avg(case when sessions.channel = 'email' then 1.0 else 0.0 end) as email_session_share,
        avg(sessions.engaged_seconds) as avg_engaged_seconds
    from snapshots
    inner join sessions
        on snapshots.cutoff_at > sessions.started_at
    group by
        snapshots.snapshot_kind,
        sessions.person_id
),

horizon_buyers as (
    select distinct orders.person_id
    from orders
    inner join snapshots
        on
            snapshots.snapshot_kind = 'training'
            and orders.ordered_at >= snapshots.cutoff_at
            and orders.ordered_at < snapshots.label_end_at
),

final as (
    select
        order_history.snapshot_kind,
        persons.person_id,
        persons.customer_id,
        snapshots.cutoff_at,
        order_history.order_count,
        ln(1 + order_history.monetary_total) as log_monetary_total,
        ln(1 + order_history.monetary_total / order_history.order_count) as log_avg_order_value,
        {{ dbt.datediff('order_history.last_order_at', 'snapshots.cutoff_at', 'day') }}
            as days_since_last_order,
        {{ dbt.datediff('order_history.first_order_at', 'snapshots.cutoff_at', 'day') }}
            as days_since_first_order,
        order_history.orders_last_30_days,
        order_history.orders_last_90_days,
        coalesce(session_history.session_count, 0) as session_count,
        coalesce(session_history.sessions_last_30_days, 0) as sessions_last_30_days,
        coalesce(
            {{ dbt.datediff('session_history.last_session_at', 'snapshots.cutoff_at', 'day') }},
            {{ var('features_missing_days') }}
        ) as days_since_last_session,
        coalesce(session_history.cart_session_share, 0) as cart_session_share,
        coalesce(session_history.discount_session_share, 0) as discount_session_share,
        coalesce(session_history.email_session_share, 0) as email_session_share,
        ln(1 + coalesce(session_history.avg_engaged_seconds, 0)) as log_avg_engaged_seconds,
        case
            when order_history.snapshot_kind = 'scoring' then null
            when horizon_buyers.person_id is null then 1
            else 0
        end as is_churned
    from order_history
    inner join snapshots
        on order_history.snapshot_kind = snapshots.snapshot_kind
    inner join persons
        on order_history.person_id = persons.person_id
    left join session_history
        on
            order_history.snapshot_kind = session_history.snapshot_kind
            and order_history.person_id = session_history.person_id
    left join horizon_buyers
        on
            order_history.snapshot_kind = 'training'
            and order_history.person_id = horizon_buyers.person_id
)

select * from final
