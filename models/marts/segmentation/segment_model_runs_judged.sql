-- Every clustering run of segment_model_runs judged by its quality gate, and the run in force:
-- the latest run that passed (silhouette at least var('cluster_min_silhouette'), Davies-Bouldin
-- at most var('cluster_max_davies_bouldin'); runs over fewer than
-- var('segment_gate_min_population') persons are too small to judge and pass). A run that fails
-- leaves the last good model in force; before any run has passed, the latest run is in force.
-- customer_clusters, cluster_scaler and cluster_centroids apply the run in force.
{{ config(materialized='view') }}

with

runs as (
    select
        run_id,
        run_number,
        as_of_date,
        algorithm,
        person_count,
        k_final,
        silhouette,
        davies_bouldin,
        model_json
    from {{ ref('segment_model_runs') }}
),

judged as (
    select
        *,
        person_count < {{ var('segment_gate_min_population') }} as is_too_small_to_judge,
        case
            when person_count < {{ var('segment_gate_min_population') }} then true
            when silhouette is null or silhouette < {{ var('cluster_min_silhouette') }}
                then false
            when davies_bouldin is null or davies_bouldin > {{ var('cluster_max_davies_bouldin') }}
                then false
            else true
        end as passed_quality_gate,
        run_number = max(run_number) over () as is_latest
    from runs
),

in_force as (
    select
        coalesce(
            max(case when passed_quality_gate then run_number end),
            max(run_number)
        ) as run_number_in_force,
        max(run_number) as latest_run_number
    from judged
)

select
    judged.*,
    judged.run_number = in_force.run_number_in_force as is_in_force,
    case
        when judged.run_number <> in_force.run_number_in_force then null
        when judged.passed_quality_gate and judged.is_latest then 'latest_run_passed'
        when judged.passed_quality_gate then 'latest_run_failed_last_good_run_kept'
        else 'no_run_passed_latest_run_used'
    end as in_force_reason
from judged
cross join in_force
