{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}

-- Whether each build refitted each model and why: one row per build (as_of) and model
-- (clustering, churn, segment_classifier), from the refit check the model logs record on their
-- latest run (segment_model_runs, supervised_model_runs: check_*). decision is refit (the run
-- was fitted by this build) or kept (the stored model scored this build's persons); reason is
-- no_model, forced, settings_changed, model_age, feature_drift, assignment_ari, clusters_refit
-- or not_due. Appended per build (a re-run of the same day replaces its rows) and kept on
-- --full-refresh, like the logs.
with

cluster_runs as (
    select * from {{ ref('segment_model_runs') }}
),

supervised_runs as (
    select * from {{ ref('supervised_model_runs') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

latest_cluster_run as (
    select
        'clustering' as model_name,
        run_id,
        as_of_date as model_as_of_date,
        checked_as_of_date,
        check_decision,
        check_reason,
        check_model_age_days,
        check_drift_major_share,
        check_assignment_ari,
        fit_seconds
    from cluster_runs
    where run_number = (select max(latest.run_number) from cluster_runs as latest)
),

latest_supervised_runs as (
    select
        model_name,
        run_id,
        as_of_date as model_as_of_date,
        checked_as_of_date,
        check_decision,
        check_reason,
        check_model_age_days,
        check_drift_major_share,
        cast(null as double precision) as check_assignment_ari,
        fit_seconds
    from supervised_runs
    where
        run_number
        = (select max(latest.run_number) from supervised_runs as latest)
),

checks as (
    select * from latest_cluster_run
    union all
    select * from latest_supervised_runs
),

final as (
    select
        observation_window.as_of_date,
        checks.model_name,
        checks.check_decision as decision,
        checks.check_reason as reason,
        checks.run_id as model_run_id,
        cast(checks.model_as_of_date as date) as model_as_of_date,
        checks.check_model_age_days as model_age_days,
        checks.check_drift_major_share as drift_major_share,
        checks.check_assignment_ari as assignment_ari,
        case when checks.check_decision = 'refit' then checks.fit_seconds end as fit_seconds
    from checks
    cross join observation_window
    where cast(checks.checked_as_of_date as date) = observation_window.as_of_date
)

select * from final
