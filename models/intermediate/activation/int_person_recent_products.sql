-- Per fit (int_recommendation_fits), a person's products that seed and bound the
-- recommendations: the seeds are the var('recommendation_seed_products') products the person
-- interacted with most recently (viewed, carted or bought) within var('recommendation_seed_days')
-- before the fit's end (ties by product_id); a product bought (completed order) within
-- var('recommendation_exclude_bought_days') is never recommended. Seeds are never recommended
-- either: both are the person's exclusions.
-- One row per fit, person_id and product_id (only products that are a seed or recently bought).
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
        max(
            case when interactions.occurred_at >= fits.seeds_from then interactions.occurred_at end
        ) as last_seed_interaction_at,
        max(
            case
                when
                    interactions.interaction_type = 'purchase'
                    and interactions.occurred_at >= fits.exclude_bought_from
                    then interactions.occurred_at
            end
        ) as last_bought_at
    from interactions
    inner join fits
        on interactions.occurred_at < fits.fitted_until
    where
        interactions.occurred_at >= fits.seeds_from
        or interactions.occurred_at >= fits.exclude_bought_from
    group by 1, 2, 3
),

numbered as (
    select
        *,
        case
            when last_seed_interaction_at is not null
                then row_number() over (
                        partition by fit, person_id, last_seed_interaction_at is null
                        order by last_seed_interaction_at desc, product_id asc
                    )
        end as seed_number
    from person_products
),

final as (
    select
        fit,
        person_id,
        product_id,
        last_seed_interaction_at,
        last_bought_at,
        coalesce(seed_number <= {{ var('recommendation_seed_products') }}, false) as is_seed,
        last_bought_at is not null as is_recently_bought,
        case
            when seed_number <= {{ var('recommendation_seed_products') }} then seed_number
        end as seed_rank
    from numbered
    where
        seed_number <= {{ var('recommendation_seed_products') }}
        or last_bought_at is not null
)

select * from final
