{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}

-- Every monitoring check that fired on this build, one row per check and subject (data
-- contract: check, severity, subject, value, threshold, raised_at). Severity: info < warning <
-- critical; the tests on this model fail (at var('monitoring_alert_severity'), warn by default)
-- on a critical alert of the latest build.
-- - feature_drift: a clustering feature's PSI moderate (info) or major (warning);
-- - model_input_drift: a model's share of major features at var('model_refit_drift_share')
--   (critical: the build refits it);
-- - segment_size_drift: a segment's share z-score moderate (info) or major (warning);
-- - cluster_quality_gate / churn_quality_gate / classifier_quality_gate: the latest run of a
--   model failed its gate (critical: the last good model stays in force);
-- - cluster_silhouette_trend / churn_auc_trend / classifier_f1_trend: a refit's gate metric
--   fell by var('monitoring_gate_drop') or more against the previous run (warning);
-- - cluster_ari_vs_previous: a refit agrees less than var('cluster_refit_min_ari') with the
--   previous model's assignment (warning: many persons changed cluster);
-- - segment_redundant (warning), family_over_segmented (warning), segment_unstable (info),
--   segment_too_small (info): from segment_health.
-- Appended per build (a re-run replaces its day) and kept on --full-refresh.
{%- set drop = var('monitoring_gate_drop') %}

with

drift as (
    select * from {{ ref('feature_drift') }}
),

size_drift as (
    select * from {{ ref('segment_size_drift') }}
),

health as (
    select * from {{ ref('segment_health') }}
),

refits as (
    select * from {{ ref('model_refit_log') }}
),

cluster_runs as (
    select * from {{ ref('segment_model_runs_judged') }}
),

cluster_log as (
    select * from {{ ref('segment_model_runs') }}
),

supervised_runs as (
    select * from {{ ref('supervised_model_runs_judged') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

feature_alerts as (
    select
        'feature_drift' as check_name,
        case when drift.drift_level = 'major' then 'warning' else 'info' end as severity,
        drift.feature as subject,
        drift.psi as check_value,
        case
            when drift.drift_level = 'major' then {{ var('drift_major_psi') }}
            else {{ var('drift_moderate_psi') }}
        end as threshold
    from drift
    inner join observation_window
        on drift.as_of_date = observation_window.as_of_date
    where drift.drift_level != 'none'
),

clustering_input_drift as (
    select
        'model_input_drift' as check_name,
        'critical' as severity,
        'clustering' as subject,
        avg(case when drift.drift_level = 'major' then 1.0 else 0.0 end) as check_value,
        {{ var('model_refit_drift_share') }} as threshold
    from drift
    inner join observation_window
        on drift.as_of_date = observation_window.as_of_date
    group by 1, 2, 3
    having
        avg(case when drift.drift_level = 'major' then 1.0 else 0.0 end)
        >= {{ var('model_refit_drift_share') }}
),

supervised_input_drift as (
    select
        'model_input_drift' as check_name,
        'critical' as severity,
        refits.model_name as subject,
        refits.drift_major_share as check_value,
        {{ var('model_refit_drift_share') }} as threshold
    from refits
    inner join observation_window
        on refits.as_of_date = observation_window.as_of_date
    where
        refits.model_name != 'clustering'
        and refits.drift_major_share >= {{ var('model_refit_drift_share') }}
),

size_alerts as (
    select
        'segment_size_drift' as check_name,
        case when size_drift.drift_level = 'major' then 'warning' else 'info' end as severity,
        size_drift.segment_family || ':' || size_drift.segment_name as subject,
        size_drift.z_score as check_value,
        case
            when size_drift.drift_level = 'major' then {{ var('monitoring_size_z_major') }}
            else {{ var('monitoring_size_z_moderate') }}
        end as threshold
    from size_drift
    inner join observation_window
        on size_drift.kpi_date = observation_window.as_of_date
    where size_drift.drift_level in ('moderate', 'major')
),

-- the latest clustering run against its gate and against the run before it
latest_cluster as (
    select
        latest.*,
        previous.silhouette as previous_silhouette,
        cast(latest.as_of_date as date) = observation_window.as_of_date as is_fitted_this_build
    from cluster_runs as latest
    cross join observation_window
    left join cluster_runs as previous
        on latest.run_number - 1 = previous.run_number
    where latest.is_latest
),

cluster_alerts as (
    select
        'cluster_quality_gate' as check_name,
        'critical' as severity,
        'clustering' as subject,
        silhouette as check_value,
        {{ var('cluster_min_silhouette') }} as threshold
    from latest_cluster
    where not passed_quality_gate
    union all
    select
        'cluster_silhouette_trend' as check_name,
        'warning' as severity,
        'clustering' as subject,
        silhouette - previous_silhouette as check_value,
        -1 * {{ drop }} as threshold
    from latest_cluster
    where is_fitted_this_build and silhouette - previous_silhouette <= -1 * {{ drop }}
    union all
    select
        'cluster_ari_vs_previous' as check_name,
        'warning' as severity,
        'clustering' as subject,
        cluster_log.ari_vs_previous as check_value,
        {{ var('cluster_refit_min_ari') }} as threshold
    from latest_cluster
    inner join cluster_log
        on latest_cluster.run_id = cluster_log.run_id
    where
        latest_cluster.is_fitted_this_build
        and cluster_log.ari_vs_previous < {{ var('cluster_refit_min_ari') }}
),

latest_supervised as (
    select
        latest.*,
        previous.gate_value as previous_gate_value,
        cast(latest.as_of_date as date) = observation_window.as_of_date as is_fitted_this_build
    from supervised_runs as latest
    cross join observation_window
    left join supervised_runs as previous
        on
            latest.model_name = previous.model_name
            and latest.run_number - 1 = previous.run_number
    where latest.is_latest
),

supervised_alerts as (
    select
        case
            when model_name = 'churn' then 'churn_quality_gate' else 'classifier_quality_gate'
        end as check_name,
        'critical' as severity,
        model_name as subject,
        gate_value as check_value,
        gate_threshold as threshold
    from latest_supervised
    where not passed_quality_gate
    union all
    select
        case
            when model_name = 'churn' then 'churn_auc_trend' else 'classifier_f1_trend'
        end as check_name,
        'warning' as severity,
        model_name as subject,
        gate_value - previous_gate_value as check_value,
        -1 * {{ drop }} as threshold
    from latest_supervised
    where is_fitted_this_build and gate_value - previous_gate_value <= -1 * {{ drop }}
),

health_alerts as (
    select
        'segment_redundant' as check_name,
        'warning' as severity,
        segment_family || ':' || segment_name || ' ~ '
        || closest_segment_family || ':' || closest_segment_name as subject,
        closest_jaccard as check_value,
        {{ var('monitoring_redundant_jaccard') }} as threshold
    from health
    where is_redundant
    union all
    select
        'family_over_segmented' as check_name,
        'warning' as severity,
        segment_family as subject,
        max(family_segment_count) as check_value,
        max(family_segment_capacity) as threshold
    from health
    where is_family_over_segmented
    group by 1, 2, 3
    union all
    select
        'segment_unstable' as check_name,
        'info' as severity,
        segment_family || ':' || segment_name as subject,
        stability_1_build as check_value,
        {{ var('monitoring_min_stability') }} as threshold
    from health
    where stability_1_build < {{ var('monitoring_min_stability') }}
    union all
    select
        'segment_too_small' as check_name,
        'info' as severity,
        segment_family || ':' || segment_name as subject,
        cast(null as double precision) as check_value,
        {{ var('monitoring_min_segment_members') }} as threshold
    from health
    where recommendation = 'retire'
),

alerts as (
    select * from feature_alerts
    union all
    select * from clustering_input_drift
    union all
    select * from supervised_input_drift
    union all
    select * from size_alerts
    union all
    select * from cluster_alerts
    union all
    select * from supervised_alerts
    union all
    select * from health_alerts
),

final as (
    select
        observation_window.as_of_date,
        alerts.check_name as {{ adapter.quote('check') }},
        alerts.severity,
        alerts.subject,
        cast(alerts.check_value as double precision) as {{ adapter.quote('value') }},
        cast(alerts.threshold as double precision) as threshold,
        observation_window.observation_end_at as raised_at
    from alerts
    cross join observation_window
)

select * from final
