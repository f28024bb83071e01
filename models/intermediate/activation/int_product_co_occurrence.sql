-- Item-to-item co-occurrence per fit (int_recommendation_fits): two products in the same
-- session or order within var('recommendation_history_days') before the fit's end. A product's
-- weight in a basket is its strongest interaction there (view < cart < purchase weights); a
-- pair weighs the lesser of its two products' weights (co-view, co-cart, co-purchase), summed
-- over baskets. Pair generation is bounded: the var('recommendation_max_products_per_basket')
-- heaviest products of a basket are paired (ties by product_id), and each product keeps its
-- var('recommendation_max_neighbours') heaviest related products.
-- One row per fit, product_id and related_product_id.
with

interactions as (
    select * from {{ ref('int_product_interactions') }}
),

fits as (
    select * from {{ ref('int_recommendation_fits') }}
),

basket_products as (
    select
        fits.fit,
        interactions.basket_type,
        interactions.basket_id,
        interactions.product_id,
        max(interactions.interaction_weight) as product_weight
    from interactions
    inner join fits
        on
            interactions.occurred_at >= fits.history_from
            and interactions.occurred_at < fits.fitted_until
    group by 1, 2, 3, 4
),

capped_basket_products as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by fit, basket_type, basket_id
                order by product_weight desc, product_id asc
            ) as product_number
        from basket_products
    ) as numbered
    where product_number <= {{ var('recommendation_max_products_per_basket') }}
),

pairs as (
    select
        products.fit,
        products.product_id,
        related.product_id as related_product_id,
        sum(least(products.product_weight, related.product_weight)) as co_occurrence_weight,
        count(*) as basket_count
    from capped_basket_products as products
    inner join capped_basket_products as related
        on
            products.fit = related.fit
            and products.basket_type = related.basket_type
            and products.basket_id = related.basket_id
            and products.product_id != related.product_id
    group by 1, 2, 3
),

ranked as (
    select
        *,
        row_number() over (
            partition by fit, product_id
            order by co_occurrence_weight desc, related_product_id asc
        ) as neighbour_rank
    from pairs
),

final as (
    select
        fit,
        product_id,
        related_product_id,
        co_occurrence_weight,
        basket_count,
        neighbour_rank
    from ranked
    where neighbour_rank <= {{ var('recommendation_max_neighbours') }}
)

select * from final
