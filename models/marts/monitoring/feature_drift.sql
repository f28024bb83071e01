-- Drift of the clustering's inputs, per build and model feature (var('cluster_features')): the
-- population stability index of today's persons (customer_features) against the population the
-- clustering model in force at the start of the build was fitted on (the bins stored with that
-- run, cluster_reference_bins: deciles fixed from the reference, features of at most
-- var('drift_top_values') values binned by value plus other, and a missing bin). The run in
-- force at the start of the build is the latest run logged by an earlier build (as_of before
-- today's) that passed its quality gate, else the latest earlier run; a refit this build does
-- not reset its own comparison. The first build has no earlier run and compares against its
-- own fit. Shares are floored at var('drift_epsilon'); drift_level: none <
-- var('drift_moderate_psi') <= moderate < var('drift_major_psi') <= major (macros psi_term,
-- drift_level; python_utils.monitoring computes the same for the refit check).
-- Incremental by as_of_date (a build replaces its own day) and kept on --full-refresh: the
-- reference of a past day cannot be rebuilt.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}
{%- set epsilon = var('drift_epsilon') %}

with

features as (
    select * from {{ ref('customer_features') }}
),

runs as (
    select * from {{ ref('segment_model_runs_judged') }}
),

bins as (
    select * from {{ ref('cluster_reference_bins') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

earlier_runs as (
    select runs.*
    from runs
    cross join observation_window
    where cast(runs.as_of_date as date) < observation_window.as_of_date
),

reference_choice as (
    select
        coalesce(
            (
                select max(run_number) from earlier_runs
                where passed_quality_gate
            ),
            (select max(run_number) from earlier_runs),
            (select min(run_number) from runs)
        ) as run_number
),

reference_run as (
    select
        runs.run_id,
        cast(runs.as_of_date as date) as reference_as_of_date
    from runs
    inner join reference_choice
        on runs.run_number = reference_choice.run_number
),

reference_bins as (
    select bins.*
    from bins
    inner join reference_run
        on bins.run_id = reference_run.run_id
),

feature_values as (
    {{ features_long('features', var('cluster_features')) }}
),

population as (
    select count(*) as person_count
    from features
),

binned as (
    select
        reference_bins.feature,
        reference_bins.bin_index,
        count(*) as bin_person_count
    from feature_values
    inner join reference_bins
        on {{ drift_bin_match('reference_bins', 'feature_values') }}
    group by 1, 2
),

-- a value outside every value bin is a categorical value the reference did not have: other (-2)
matched as (
    select
        feature,
        sum(bin_person_count) as matched_person_count
    from binned
    group by 1
),

bin_shares as (
    select
        reference_bins.feature,
        reference_bins.bin_index,
        reference_bins.reference_share,
        coalesce(
            1.0 * case
                when reference_bins.bin_index = -2
                    then population.person_count - coalesce(matched.matched_person_count, 0)
                else binned.bin_person_count
            end / nullif(population.person_count, 0),
            0
        ) as current_share
    from reference_bins
    cross join population
    left join binned
        on
            reference_bins.feature = binned.feature
            and reference_bins.bin_index = binned.bin_index
    left join matched
        on reference_bins.feature = matched.feature
),

psi as (
    select
        feature,
        count(*) as bin_count,
        -- rounded: a parallel sum of doubles may differ in the last bits from run to run
        round(sum({{ psi_term('current_share', 'reference_share', epsilon) }}), 10) as psi
    from bin_shares
    group by 1
),

final as (
    select
        observation_window.as_of_date,
        observation_window.observation_end_at,
        psi.feature,
        reference_run.run_id as reference_run_id,
        reference_run.reference_as_of_date,
        psi.bin_count,
        population.person_count,
        psi.psi,
        {{ drift_level('psi.psi') }} as drift_level
    from psi
    cross join observation_window
    cross join reference_run
    cross join population
)

select * from final
