-- The business gates of a build, judged on leaf data so that a failing gate never skips a mart:
-- one row per gate and subject with the measured value, the threshold, the setting to change,
-- the severity in force and a message. Segment gates (every family of customer_segments): a
-- segment missing from segment_catalog (integrity), under its catalogue min_size, a share
-- outside [segment_min_share, segment_max_share] (engagement tiers:
-- segment_max_share_engagement_tier; default buckets with min_size 0 are exempt), a family with
-- more than segment_max_segments_per_family segments. Model gates: the latest clustering run's
-- silhouette and Davies-Bouldin, the latest churn AUC and classifier macro F1; a run that fails
-- leaves the last good run in force, and the message says which. Recommendation gate: the
-- co-occurrence recommender's hit rate at k beats the popularity baseline's
-- (recommendation_model_runs; under recommendation_gate_min_persons evaluated: not judged).
-- Populations under segment_gate_min_population (models: model_gate_min_population labelled
-- persons) are too small to judge: status 'not_judged'. The business_gates_pass tests fail the
-- build on rows with status 'fail' (severity 'error') or warn (severity 'warn').
with

segments as (
    select * from {{ ref('customer_segments') }}
),

catalog as (
    select * from {{ ref('segment_catalog') }}
),

cluster_runs as (
    select * from {{ ref('segment_model_runs_judged') }}
),

supervised_runs as (
    select * from {{ ref('supervised_model_runs_judged') }}
),

recommendation_runs as (
    select * from {{ ref('recommendation_model_runs') }}
),

observation_window as (
    select as_of_date from {{ ref('stg_observation_window') }}
),

memberships as (
    select
        'rule' as segment_family,
        primary_rule_segment as segment_name
    from segments
    union all
    select
        'rule_group' as segment_family,
        primary_rule_segment_group as segment_name
    from segments
    union all
    select
        'rfm' as segment_family,
        rfm_segment as segment_name
    from segments
    union all
    select
        'engagement_tier' as segment_family,
        engagement_tier as segment_name
    from segments
),

sizes as (
    select
        segment_family,
        segment_name,
        count(*) as member_count
    from memberships
    group by segment_family, segment_name
),

families as (
    select
        segment_family,
        sum(member_count) as person_count,
        count(*) as segment_count
    from sizes
    group by segment_family
),

segment_facts as (
    select
        sizes.segment_family,
        sizes.segment_name,
        sizes.member_count,
        families.person_count,
        1.0 * sizes.member_count / families.person_count as member_share,
        catalog.segment_name is not null as is_catalogued,
        catalog.min_size,
        coalesce(catalog.min_size, 1) > 0 as has_share_bounds,
        families.person_count >= {{ var('segment_gate_min_population') }} as is_judged,
        case catalog.bounds
            when 'binding' then 'error'
            when 'informative' then 'warn'
            else '{{ var("segment_test_severity") }}'
        end as severity,
        case
            when sizes.segment_family = 'engagement_tier'
                then {{ var('segment_max_share_engagement_tier') }}
            else {{ var('segment_max_share') }}
        end as max_share,
        case
            when sizes.segment_family = 'engagement_tier'
                then 'segment_max_share_engagement_tier'
            else 'segment_max_share'
        end as max_share_variable,
        sizes.segment_family || ' segment ' || sizes.segment_name as segment_label,
        case catalog.bounds
            when 'informative' then ' (its catalogue bounds are informative: a warning only)'
            when 'binding' then ' (its catalogue bounds are binding)'
            else ', or set its bounds = informative in seeds/segment_catalog.csv to only warn'
        end as bounds_hint
    from sizes
    inner join families
        on sizes.segment_family = families.segment_family
    left join catalog
        on
            sizes.segment_family = catalog.segment_family
            and sizes.segment_name = catalog.segment_name
),

segment_gates as (
    select
        'integrity' as gate_class,
        'segment_in_catalog' as gate,
        segment_family,
        segment_name as subject,
        cast(member_count as double) as measured_value,
        cast(null as double) as threshold,
        'seeds/segment_catalog.csv' as setting,
        'error' as severity,
        case when is_catalogued then 'pass' else 'fail' end as status,
        segment_label || ' (' || cast(member_count as varchar) || ' persons) is not in'
        || ' segment_catalog: add it to seeds/segment_catalog.csv' as message
    from segment_facts
    union all
    select
        'business' as gate_class,
        'segment_min_size' as gate,
        segment_family,
        segment_name as subject,
        cast(member_count as double) as measured_value,
        cast(min_size as double) as threshold,
        'seeds/segment_catalog.csv min_size' as setting,
        severity,
        case
            when not is_catalogued then 'not_judged'
            when not is_judged then 'not_judged'
            when member_count >= min_size then 'pass'
            else 'fail'
        end as status,
        segment_label || ' has ' || cast(member_count as varchar) || ' members, fewer than its'
        || ' catalogue min_size ' || cast(min_size as varchar) || ': lower min_size in'
        || ' seeds/segment_catalog.csv' || bounds_hint as message
    from segment_facts
    union all
    select
        'business' as gate_class,
        'segment_max_share' as gate,
        segment_family,
        segment_name as subject,
        round(member_share, 6) as measured_value,
        cast(max_share as double) as threshold,
        'var ' || max_share_variable as setting,
        severity,
        case
            when not is_catalogued or not has_share_bounds then 'not_judged'
            when not is_judged then 'not_judged'
            when member_share <= max_share then 'pass'
            else 'fail'
        end as status,
        segment_label || ' holds ' || cast(round(100 * member_share, 1) as varchar) || '% of '
        || cast(person_count as varchar) || ' persons, above ' || max_share_variable || ' '
        || cast(max_share as varchar) || ': raise the var ' || max_share_variable
        || bounds_hint as message
    from segment_facts
    union all
    select
        'business' as gate_class,
        'segment_min_share' as gate,
        segment_family,
        segment_name as subject,
        round(member_share, 6) as measured_value,
        cast({{ var('segment_min_share') }} as double) as threshold,
        'var segment_min_share' as setting,
        severity,
        case
            when not is_catalogued or not has_share_bounds then 'not_judged'
            when not is_judged then 'not_judged'
            when member_share >= {{ var('segment_min_share') }} then 'pass'
            else 'fail'
        end as status,
        segment_label || ' holds ' || cast(round(100 * member_share, 1) as varchar) || '% of '
        || cast(person_count as varchar) || ' persons, below segment_min_share '
        || cast({{ var('segment_min_share') }} as varchar) || ': lower the var'
        || ' segment_min_share' || bounds_hint as message
    from segment_facts
    union all
    select
        'business' as gate_class,
        'family_segment_count' as gate,
        segment_family,
        segment_family as subject,
        cast(segment_count as double) as measured_value,
        cast({{ var('segment_max_segments_per_family') }} as double) as threshold,
        'var segment_max_segments_per_family' as setting,
        '{{ var("segment_test_severity") }}' as severity,
        case
            when segment_count <= {{ var('segment_max_segments_per_family') }} then 'pass'
            else 'fail'
        end as status,
        'segment family ' || segment_family || ' has ' || cast(segment_count as varchar)
        || ' segments, more than segment_max_segments_per_family '
        || cast({{ var('segment_max_segments_per_family') }} as varchar)
        || ': raise the var or merge segments' as message
    from families
),

cluster_latest as (
    select
        latest.*,
        in_force.run_number as in_force_run_number,
        in_force.in_force_reason
    from cluster_runs as latest
    cross join cluster_runs as in_force
    where latest.is_latest and in_force.is_in_force
),

cluster_metrics as (
    select
        'cluster_silhouette' as gate,
        'silhouette' as metric,
        silhouette as measured_value,
        {{ var('cluster_min_silhouette') }} as threshold,
        'cluster_min_silhouette' as threshold_variable,
        'at least' as comparison,
        *
    from cluster_latest
    union all
    select
        'cluster_davies_bouldin' as gate,
        'Davies-Bouldin' as metric,
        davies_bouldin as measured_value,
        {{ var('cluster_max_davies_bouldin') }} as threshold,
        'cluster_max_davies_bouldin' as threshold_variable,
        'at most' as comparison,
        *
    from cluster_latest
),

supervised_latest as (
    select
        latest.*,
        in_force.run_number as in_force_run_number,
        in_force.in_force_reason as model_in_force_reason
    from supervised_runs as latest
    inner join supervised_runs as in_force
        on latest.model_name = in_force.model_name
    where latest.is_latest and in_force.is_in_force
),

model_gates as (
    select
        'business' as gate_class,
        gate,
        'clustering' as segment_family,
        'segment_model_runs run ' || cast(run_number as varchar) as subject,
        cast(measured_value as double) as measured_value,
        cast(threshold as double) as threshold,
        'var ' || threshold_variable as setting,
        '{{ var("model_test_severity") }}' as severity,
        case
            when is_too_small_to_judge then 'not_judged'
            when
                measured_value is not null
                and (
                    (comparison = 'at least' and measured_value >= threshold)
                    or (comparison = 'at most' and measured_value <= threshold)
                )
                then 'pass'
            else 'fail'
        end as status,
        'clustering run ' || cast(run_number as varchar) || ' (' || algorithm || ', '
        || cast(person_count as varchar) || ' persons, ' || cast(k_final as varchar)
        || ' clusters): ' || metric || ' '
        || coalesce(cast(round(measured_value, 4) as varchar), 'missing (a single cluster)')
        || ', needs ' || comparison || ' ' || threshold_variable || ' '
        || cast(threshold as varchar)
        || case
            when in_force_run_number = run_number
                then '; no earlier run passed, so customer_clusters uses this run'
            else '; customer_clusters keeps run ' || cast(in_force_run_number as varchar)
                || ', the last run that passed'
        end
        || ' (change the var ' || threshold_variable
        || ', or model_test_severity = warn to only warn)'
            as message
    from cluster_metrics
    union all
    select
        'business' as gate_class,
        case model_name
            when 'churn' then 'churn_auc'
            else 'classifier_macro_f1'
        end as gate,
        'supervised' as segment_family,
        model_name || ' run ' || cast(run_number as varchar) as subject,
        cast(gate_value as double) as measured_value,
        cast(gate_threshold as double) as threshold,
        case model_name
            when 'churn' then 'var churn_min_auc'
            else 'var classifier_min_macro_f1'
        end as setting,
        '{{ var("model_test_severity") }}' as severity,
        case
            when is_too_small_to_judge then 'not_judged'
            when passed_quality_gate then 'pass'
            else 'fail'
        end as status,
        model_name || ' model run ' || cast(run_number as varchar) || ' (' || algorithm || ', '
        || cast(person_count as varchar) || ' labelled persons): held-out ' || gate_metric
        || ' ' || coalesce(cast(round(gate_value, 4) as varchar), 'missing')
        || ', needs at least '
        || case model_name
            when 'churn' then 'churn_min_auc'
            else 'classifier_min_macro_f1'
        end
        || ' ' || cast(gate_threshold as varchar)
        || case
            when in_force_run_number = run_number
                then '; no earlier run passed, so its scores use this run'
            else '; its scores keep run ' || cast(in_force_run_number as varchar)
                || ', the last run that passed'
        end
        || ' (change the var, or model_test_severity = warn to only warn)' as message
    from supervised_latest
),

-- the recommender must beat the popularity baseline on hit rate at k (recommendation_model_runs)
recommendation_gates as (
    select
        'business' as gate_class,
        'recommendation_hit_rate' as gate,
        'recommendation' as segment_family,
        'co_occurrence vs popular' as subject,
        cast(judged_run.hit_rate_at_k as double) as measured_value,
        cast(baseline_run.hit_rate_at_k as double) as threshold,
        'docs/activation.md (recommendation_weight_* and recommendation_* vars)' as setting,
        '{{ var("model_test_severity") }}' as severity,
        case
            when judged_run.persons_evaluated < {{ var('recommendation_gate_min_persons') }}
                then 'not_judged'
            when judged_run.hit_rate_at_k > baseline_run.hit_rate_at_k then 'pass'
            else 'fail'
        end as status,
        'the co-occurrence recommender''s hit rate at ' || cast(judged_run.k as varchar) || ' '
        || coalesce(cast(round(judged_run.hit_rate_at_k, 4) as varchar), 'missing')
        || ' does not beat the popularity baseline''s '
        || coalesce(cast(round(baseline_run.hit_rate_at_k, 4) as varchar), 'missing')
        || ' (' || cast(judged_run.persons_evaluated as varchar) || ' persons evaluated):'
        || ' tune the recommendation vars, or model_test_severity = warn to only warn'
            as message
    from recommendation_runs as judged_run
    inner join recommendation_runs as baseline_run
        on judged_run.k = baseline_run.k
    where judged_run.recommender = 'co_occurrence' and baseline_run.recommender = 'popular'
),

gates as (
    select * from segment_gates
    union all
    select * from model_gates
    union all
    select * from recommendation_gates
),

identified as (
    select
        *,
        gate_class || ':' || gate || ':' || segment_family || ':' || subject as gate_id
    from gates
)

select
    identified.gate_id,
    identified.gate_class,
    identified.gate,
    identified.segment_family as subject_family,
    identified.subject,
    identified.measured_value,
    identified.threshold,
    identified.setting,
    identified.severity,
    identified.status,
    observation_window.as_of_date,
    case when identified.status = 'fail' then identified.message end as message
from identified
cross join observation_window
