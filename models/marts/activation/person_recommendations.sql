-- Product recommendations per person: item-to-item co-occurrence seeded with the person's recent
-- products (int_person_co_occurrence_candidates, fit 'serving'), filled up to
-- var('recommendation_count') with the popular products of the person's primary rule segment
-- (customer_segments) and then the popular products overall (int_product_popularity). Never a
-- seed or a product the person bought within var('recommendation_exclude_bought_days')
-- (int_person_recent_products). Only persons whose latest personalization decision is a grant
-- (int_person_consents) and who are not in the activation holdout (is_activation_holdout).
-- Ties are broken by product_id everywhere: equal input gives equal lists. recommended_at is
-- the end of as_of. One row per person_id and recommendation_rank.
with

segments as (
    select * from {{ ref('customer_segments') }}
),

consents as (
    select * from {{ ref('int_person_consents') }}
),

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

eligible_persons as (
    select
        segments.person_id,
        segments.primary_rule_segment
    from segments
    inner join consents
        on
            segments.person_id = consents.person_id
            and consents.purpose = 'personalization'
    where
        consents.is_granted_latest
        and not {{ is_activation_holdout('segments.person_id') }}
),

serving_fit as (
    select * from fits
    where fit = 'serving'
),

exclusions as (
    select
        person_id,
        product_id
    from recent_products
    where fit = 'serving'
),

-- the popular products of each primary rule segment: as int_product_popularity, per segment
segment_person_products as (
    select
        segments.primary_rule_segment,
        interactions.person_id,
        interactions.product_id,
        max(interactions.interaction_weight) as person_weight
    from interactions
    inner join serving_fit
        on
            interactions.occurred_at >= serving_fit.popularity_from
            and interactions.occurred_at < serving_fit.fitted_until
    inner join segments
        on interactions.person_id = segments.person_id
    group by 1, 2, 3
),

segment_popularity as (
    select *
    from (
        select
            primary_rule_segment,
            product_id,
            sum(person_weight) as popularity_score,
            row_number() over (
                partition by primary_rule_segment
                order by sum(person_weight) desc, product_id asc
            ) as popularity_rank
        from segment_person_products
        group by 1, 2
    ) as ranked
    where popularity_rank <= {{ var('recommendation_candidate_pool') }}
),

fallback_candidates as (
    select
        eligible_persons.person_id,
        segment_popularity.product_id,
        segment_popularity.popularity_score as score,
        'segment_popular' as recommendation_source,
        2 as source_priority
    from eligible_persons
    inner join segment_popularity
        on eligible_persons.primary_rule_segment = segment_popularity.primary_rule_segment
    union all
    select
        eligible_persons.person_id,
        popularity.product_id,
        popularity.popularity_score as score,
        'popular' as recommendation_source,
        3 as source_priority
    from eligible_persons
    inner join popularity
        on popularity.fit = 'serving'
),

candidates as (
    select
        eligible_persons.person_id,
        co_occurrence_candidates.product_id,
        co_occurrence_candidates.co_occurrence_score as score,
        'co_occurrence' as recommendation_source,
        1 as source_priority
    from eligible_persons
    inner join co_occurrence_candidates
        on
            eligible_persons.person_id = co_occurrence_candidates.person_id
            and co_occurrence_candidates.fit = 'serving'
    union all
    select fallback_candidates.*
    from fallback_candidates
    left join exclusions
        on
            fallback_candidates.person_id = exclusions.person_id
            and fallback_candidates.product_id = exclusions.product_id
    where exclusions.product_id is null
),

ranked as (
    {{ rank_recommendations('candidates') }}
),

final as (
    select
        ranked.person_id,
        ranked.recommendation_rank,
        ranked.product_id,
        -- 'source' is the published column name (a keyword to the linter)
        ranked.recommendation_source as source,  -- noqa: RF04
        observation_window.observation_end_at as recommended_at,
        cast(ranked.score as double precision) as score
    from ranked
    cross join observation_window
)

select * from final
