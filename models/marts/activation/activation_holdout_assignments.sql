-- The activation holdout as an experiment assignment (experiment_id 'activation_holdout'): one
-- row per person with its variant, 'holdout' (is_activation_holdout: a salted hash bucket of
-- the person id, activation_holdout_share of persons; no messages, personalized content,
-- recommendations or audiences) or 'activated' (everything activation does). assigned_at is
-- the person's first activity in the data (first session or order; the end of as_of for a person
-- with neither), so a readout can count what happened after it. The same person is in the same
-- variant on every build.
with

persons as (
    select * from {{ ref('int_persons') }}
),

sessions as (
    select * from {{ ref('sessions') }}
),

person_orders as (
    select * from {{ ref('int_person_orders') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

first_sessions as (
    select
        person_id,
        min(started_at) as first_session_at
    from sessions
    where person_id is not null
    group by person_id
),

first_orders as (
    select
        person_id,
        min(ordered_at) as first_order_at
    from person_orders
    group by person_id
),

final as (
    select
        persons.person_id,
        'activation_holdout' as experiment_id,
        case
            when {{ is_activation_holdout('persons.person_id') }} then 'holdout'
            else 'activated'
        end as variant,
        coalesce(
            least(first_sessions.first_session_at, first_orders.first_order_at),
            first_sessions.first_session_at,
            first_orders.first_order_at,
            observation_window.observation_end_at
        ) as assigned_at
    from persons
    cross join observation_window
    left join first_sessions
        on persons.person_id = first_sessions.person_id
    left join first_orders
        on persons.person_id = first_orders.person_id
)

select * from final
