-- Per fit (int_recommendation_fits), the co-occurrence candidates of every person with seeds
-- (int_person_recent_products): each product related to a seed (int_product_co_occurrence)
-- scores the sum of its co-occurrence weights with the person's seeds; the person's seeds and
-- recently bought products are excluded. The top var('recommendation_count') per person are
-- kept (ties by product_id): they come first in every list.
-- One row per fit, person_id and product_id.
with

recent_products as (
    select * from {{ ref('int_person_recent_products') }}
),

co_occurrence as (
    select * from {{ ref('int_product_co_occurrence') }}
),

seeds as (
    select
        fit,
        person_id,
        product_id
    from recent_products
    where is_seed
),

scored as (
    select
        seeds.fit,
        seeds.person_id,
        co_occurrence.related_product_id as product_id,
        sum(co_occurrence.co_occurrence_weight) as co_occurrence_score,
        count(*) as seed_count
    from seeds
    inner join co_occurrence
        on
            seeds.fit = co_occurrence.fit
            and seeds.product_id = co_occurrence.product_id
    left join recent_products as excluded
        on
            seeds.fit = excluded.fit
            and seeds.person_id = excluded.person_id
            and co_occurrence.related_product_id = excluded.product_id
    where excluded.product_id is null
    group by 1, 2, 3
),

ranked as (
    select
        *,
        row_number() over (
            partition by fit, person_id
            order by co_occurrence_score desc, product_id asc
        ) as candidate_rank
    from scored
),

final as (
    select
        fit,
        person_id,
        product_id,
        co_occurrence_score,
        seed_count,
        candidate_rank
    from ranked
    where candidate_rank <= {{ var('recommendation_count') }}
)

select * from final
