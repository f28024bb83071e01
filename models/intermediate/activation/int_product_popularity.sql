-- Per fit (int_recommendation_fits), the most popular products of the last
-- var('recommendation_popularity_days') before the fit's end: a person counts once per product,
-- with the weight of their strongest interaction with it (view < cart < purchase), summed over
-- persons. Ranked by that score, ties by product_id; the top var('recommendation_candidate_pool')
-- are kept (the fallback of every list and the popularity baseline of the evaluation).
-- One row per fit and product_id.
with

interactions as (
    select * from {{ ref('int_product_interactions') }}
),

fits as (
    select * from {{ ref('int_recommendation_fits') }}
),

person_products as (
    select
        fits.fit,
        interactions.person_id,
        interactions.product_id,
        max(interactions.interaction_weight) as person_weight
    from interactions
    inner join fits
        on
            interactions.occurred_at >= fits.popularity_from
            and interactions.occurred_at < fits.fitted_until
    group by 1, 2, 3
),

scored as (
    select
        fit,
        product_id,
        sum(person_weight) as popularity_score,
        count(*) as person_count
    from person_products
    group by 1, 2
),

ranked as (
    select
        *,
        row_number() over (
            partition by fit
            order by popularity_score desc, product_id asc
        ) as popularity_rank
    from scored
),

final as (
    select
        fit,
        product_id,
        popularity_score,
        person_count,
        popularity_rank
    from ranked
    where popularity_rank <= {{ var('recommendation_candidate_pool') }}
)

select * from final
