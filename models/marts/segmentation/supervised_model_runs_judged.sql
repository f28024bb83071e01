-- Every run of supervised_model_runs judged by its model's quality gate (churn: held-out AUC at
-- least var('churn_min_auc'); segment classifier: held-out macro F1 at least
-- var('classifier_min_macro_f1'); models over fewer than var('model_gate_min_population')
-- labelled persons are too small to judge and pass), and per model the run in force: the latest
-- run that passed, or before any has passed, the latest run.
{{ config(materialized='view') }}

with

runs as (
    select
        run_id,
        run_number,
        model_name,
        as_of_date,
        algorithm,
        person_count,
        auc,
        macro_f1
    from {{ ref('supervised_model_runs') }}
),

judged as (
    select
        *,
        case model_name
            when 'churn' then 'auc'
            when 'segment_classifier' then 'macro_f1'
        end as gate_metric,
        case model_name
            when 'churn' then auc
            when 'segment_classifier' then macro_f1
        end as gate_value,
        case model_name
            when 'churn' then {{ var('churn_min_auc') }}
            when 'segment_classifier' then {{ var('classifier_min_macro_f1') }}
        end as gate_threshold,
        person_count < {{ var('model_gate_min_population') }} as is_too_small_to_judge,
        run_number = max(run_number) over (partition by model_name) as is_latest
    from runs
),

gated as (
    select
        *,
        case
            when is_too_small_to_judge then true
            when gate_value is null or gate_value < gate_threshold then false
            else true
        end as passed_quality_gate
    from judged
),

in_force as (
    select
        model_name,
        coalesce(
            max(case when passed_quality_gate then run_number end),
            max(run_number)
        ) as run_number_in_force
    from gated
    group by model_name
)

select
    gated.*,
    gated.run_number = in_force.run_number_in_force as is_in_force,
    case
        when gated.run_number <> in_force.run_number_in_force then null
        when gated.passed_quality_gate and gated.is_latest then 'latest_run_passed'
        when gated.passed_quality_gate then 'latest_run_failed_last_good_run_kept'
        else 'no_run_passed_latest_run_used'
    end as in_force_reason
from gated
inner join in_force
    on gated.model_name = in_force.model_name
