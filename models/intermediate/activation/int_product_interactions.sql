-- What the recommender learns from: every product a person viewed or added to cart in a session
-- (int_events_sessionized: permitted events, analytics consent in force, stitched to persons)
-- and every product of the person's completed orders (int_person_orders with
-- int_order_items_permitted). A basket is a session or an order; its products co-occur.
-- interaction_weight is var('recommendation_weight_view' / '_cart' / '_purchase').
-- One row per basket_type, basket_id, product_id and interaction_type (the first occurrence).
with

events as (
    select * from {{ ref('int_events_sessionized') }}
),

orders as (
    select * from {{ ref('int_person_orders') }}
),

order_items as (
    select * from {{ ref('int_order_items_permitted') }}
),

session_interactions as (
    select
        'session' as basket_type,
        session_id as basket_id,
        person_id,
        product_id,
        case event_type
            when 'add_to_cart' then 'cart'
            else 'view'
        end as interaction_type,
        min(occurred_at) as occurred_at
    from events
    where
        event_type in ('product_view', 'add_to_cart')
        and product_id is not null
        and person_id is not null
    group by 1, 2, 3, 4, 5
),

order_interactions as (
    select
        'order' as basket_type,
        orders.order_id as basket_id,
        orders.person_id,
        order_items.product_id,
        'purchase' as interaction_type,
        min(orders.ordered_at) as occurred_at
    from orders
    inner join order_items
        on orders.order_id = order_items.order_id
    where
        orders.status = 'completed'
        and order_items.product_id is not null
    group by 1, 2, 3, 4, 5
),

interactions as (
    select * from session_interactions
    union all
    select * from order_interactions
),

final as (
    select
        basket_type,
        basket_id,
        person_id,
        product_id,
        interaction_type,
        occurred_at,
        case interaction_type
            when 'purchase' then {{ var('recommendation_weight_purchase') }}
            when 'cart' then {{ var('recommendation_weight_cart') }}
            else {{ var('recommendation_weight_view') }}
        end as interaction_weight
    from interactions
)

select * from final
