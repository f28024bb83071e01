-- Offline evaluation of the recommender on a time split, in every build: the fit 'evaluation'
-- (int_recommendation_fits) learns co-occurrence and popularity from everything up to
-- var('recommendation_holdout_days') before the end of as_of; every person with seeds before
-- the split gets two lists of var('recommendation_count'): 'co_occurrence' (the co-occurrence
-- candidates filled up with the popular products, as person_recommendations without the
-- segment step, whose segments are taken at as_of and would see the holdout) and 'popular' (the
-- baseline: the popular products). Both lists leave out the person's seeds and products bought
-- within var('recommendation_exclude_bought_days') before the split. The target: the products
-- the person viewed, carted or bought in the holdout window other than those excluded ones.
-- A person with at least one target is evaluated: hit rate at k (a target among the k) and
-- NDCG at k (binary relevance). business_gate_results judges co_occurrence against popular.
-- One row per recommender.
with

interactions as (
    select * from {{ ref('int_product_interactions') }}
),

fits as (
    select * from {{ ref('int_recommendation_fits') }}
),

recent_products as (
    select * from {{ ref('int_person_recent_products') }}
),

co_occurrence_candidates as (
    select * from {{ ref('int_person_co_occurrence_candidates') }}
),

popularity as (
    select * from {{ ref('int_product_popularity') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

evaluation_fit as (
    select * from fits
    where fit = 'evaluation'
),

exclusions as (
    select
        person_id,
        product_id,
        is_seed
    from recent_products
    where fit = 'evaluation'
),

evaluated_persons as (
    select distinct person_id
    from exclusions
    where is_seed
),

recommenders as (
    select 'co_occurrence' as recommender
    union all
    select 'popular' as recommender
),

popular_candidates as (
    select
        recommenders.recommender,
        evaluated_persons.person_id,
        popularity.product_id,
        popularity.popularity_score as score,
        'popular' as recommendation_source,
        3 as source_priority
    from evaluated_persons
    cross join recommenders
    inner join popularity
        on popularity.fit = 'evaluation'
    left join exclusions
        on
            evaluated_persons.person_id = exclusions.person_id
            and popularity.product_id = exclusions.product_id
    where exclusions.product_id is null
),

candidates as (
    select
        'co_occurrence' as recommender,
        person_id,
        product_id,
        co_occurrence_score as score,
        'co_occurrence' as recommendation_source,
        1 as source_priority
    from co_occurrence_candidates
    where fit = 'evaluation'
    union all
    select * from popular_candidates
),

ranked as (
    {{ rank_recommendations('candidates', ['recommender']) }}
),

targets as (
    select distinct
        interactions.person_id,
        interactions.product_id
    from interactions
    cross join evaluation_fit
    cross join observation_window
    inner join evaluated_persons
        on interactions.person_id = evaluated_persons.person_id
    left join exclusions
        on
            interactions.person_id = exclusions.person_id
            and interactions.product_id = exclusions.product_id
    where
        interactions.occurred_at >= evaluation_fit.fitted_until
        and interactions.occurred_at < observation_window.observation_end_at
        and exclusions.product_id is null
),

-- the ideal DCG: every target in the first places, at most k of them
ideal as (
    select
        person_id,
        count(*) as target_count,
        sum(
            case
                when target_number <= {{ var('recommendation_count') }}
                    then 1.0 / (ln(target_number + 1) / ln(2))
                else 0
            end
        ) as ideal_dcg
    from (
        select
            person_id,
            row_number() over (partition by person_id order by product_id) as target_number
        from targets
    ) as numbered
    group by 1
),

person_scores as (
    select
        recommenders.recommender,
        ideal.person_id,
        ideal.target_count,
        ideal.ideal_dcg,
        count(targets.product_id) as hit_count,
        coalesce(sum(
            case
                when targets.product_id is not null
                    then 1.0 / (ln(ranked.recommendation_rank + 1) / ln(2))
            end
        ), 0) as dcg
    from ideal
    cross join recommenders
    left join ranked
        on
            ideal.person_id = ranked.person_id
            and recommenders.recommender = ranked.recommender
    left join targets
        on
            ranked.person_id = targets.person_id
            and ranked.product_id = targets.product_id
    group by 1, 2, 3, 4
),

recommender_scores as (
    select
        recommenders.recommender,
        count(person_scores.person_id) as persons_evaluated,
        avg(person_scores.target_count) as avg_target_count,
        avg(case when person_scores.hit_count > 0 then 1.0 else 0.0 end) as hit_rate_at_k,
        avg(person_scores.dcg / person_scores.ideal_dcg) as ndcg_at_k
    from recommenders
    left join person_scores
        on recommenders.recommender = person_scores.recommender
    group by 1
),

final as (
    select
        recommender_scores.recommender,
        recommender_scores.recommender = 'popular' as is_baseline,
        {{ var('recommendation_count') }} as k,
        recommender_scores.persons_evaluated,
        evaluation_fit.fitted_until as split_at,
        observation_window.observation_end_at as evaluated_until,
        observation_window.as_of_date,
        {{ var('recommendation_holdout_days') }} as holdout_days,
        round(cast(recommender_scores.avg_target_count as double precision), 9)
            as avg_target_count,
        round(cast(recommender_scores.hit_rate_at_k as double precision), 9) as hit_rate_at_k,
        -- rounded: a parallel sum of doubles differs in its last bits from run to run
        round(cast(recommender_scores.ndcg_at_k as double precision), 9) as ndcg_at_k
    from recommender_scores
    cross join evaluation_fit
    cross join observation_window
)

select * from final
