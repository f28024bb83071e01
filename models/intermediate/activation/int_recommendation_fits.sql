-- The two moments the recommender is fitted at: 'serving' on everything up to the end of as_of
-- (what person_recommendations uses) and 'evaluation' on everything up to
-- var('recommendation_holdout_days') days earlier (recommendation_model_runs scores it against
-- the days after). Every later recommendation model computes both, partitioned by fit.
-- One row per fit.
with

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

fits as (
    select
        'serving' as fit,
        observation_end_at as fitted_until
    from observation_window
    union all
    select
        'evaluation' as fit,
        {{ dbt.dateadd('day', -var('recommendation_holdout_days'), 'observation_end_at') }}
            as fitted_until
    from observation_window
),

final as (
    select
        fit,
        fitted_until,
        {{ dbt.dateadd('day', -var('recommendation_history_days'), 'fitted_until') }}
            as history_from,
        {{ dbt.dateadd('day', -var('recommendation_seed_days'), 'fitted_until') }}
            as seeds_from,
        {{ dbt.dateadd('day', -var('recommendation_popularity_days'), 'fitted_until') }}
            as popularity_from,
        {{ dbt.dateadd('day', -var('recommendation_exclude_bought_days'), 'fitted_until') }}
            as exclude_bought_from
    from fits
)

select * from final
