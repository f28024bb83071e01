-- The sums experiment_readouts computes its statistics from: one row per experiment, variant,
-- segment (family and name) and metric, over the units of experiment_units. assigned_units
-- counts every unit (for the sample-ratio check); units, and every sum, only the units whose
-- attribution window has ended. y is the metric, x its CUPED covariate (the same metric over
-- the pre-period). Metrics: 'conversion' (has_converted, a proportion), 'revenue_per_unit'
-- (revenue, zeros included) and 'sessions_per_unit' (session_count), both means. Sums of
-- integers and decimals only, so they are exact and the same on every run and engine.
-- design_weight is the variant's designed share (var experiment_splits: {experiment: {variant:
-- weight}}; equal when unlisted; the activation holdout from activation_holdout_share);
-- is_control marks the variant named in var experiment_control_variants.
{%- set splits = var('experiment_splits') %}
{%- set holdout_share = var('activation_holdout_share') %}

with

units as (
    select * from {{ ref('experiment_units') }}
    where is_unit
),

segmented as (
    {%- for family in ['all', 'buyer_status_at_assignment', 'device_at_assignment',
                       'channel_at_assignment'] %}
    select
        experiment_id,
        variant,
        '{{ family }}' as segment_family,
        {{ "'all'" if family == 'all' else family }} as segment_name,
        is_window_complete,
        has_converted,
        revenue,
        session_count,
        pre_has_converted,
        pre_revenue,
        pre_session_count
    from units
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

{#- metric, kind, the unit's value and its pre-period covariate (experiment_units) #}
{%- set metrics = [
    ('conversion', 'proportion', 'has_converted', 'pre_has_converted'),
    ('revenue_per_unit', 'mean', 'revenue', 'pre_revenue'),
    ('sessions_per_unit', 'mean', 'session_count', 'pre_session_count'),
] %}

measured as (
    {%- for metric, kind, value, covariate in metrics %}
    select
        experiment_id,
        variant,
        segment_family,
        segment_name,
        is_window_complete,
        '{{ metric }}' as metric,
        '{{ kind }}' as metric_kind,
        cast({{ value }} as decimal(38, 4)) as y,
        cast({{ covariate }} as decimal(38, 4)) as x
    from segmented
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

aggregated as (
    select
        experiment_id,
        variant,
        segment_family,
        segment_name,
        metric,
        metric_kind,
        count(*) as assigned_units,
        sum(case when is_window_complete then 1 else 0 end) as units,
        sum(case when is_window_complete then y else 0 end) as sum_y,
        sum(case when is_window_complete then y * y else 0 end) as sum_y2,
        sum(case when is_window_complete then x else 0 end) as sum_x,
        sum(case when is_window_complete then x * x else 0 end) as sum_x2,
        sum(case when is_window_complete then x * y else 0 end) as sum_xy
    from measured
    group by experiment_id, variant, segment_family, segment_name, metric, metric_kind
),

final as (
    select
        experiment_id,
        variant,
        lower(variant) in ({{ sql_string_list(var('experiment_control_variants')) }})
            as is_control,
        segment_family,
        segment_name,
        metric,
        metric_kind,
        assigned_units,
        units,
        sum_y,
        sum_y2,
        sum_x,
        sum_x2,
        sum_xy,
        cast(
            case
                when experiment_id = 'activation_holdout' and variant = 'holdout'
                    then {{ holdout_share }}
                when experiment_id = 'activation_holdout' then {{ 1 - holdout_share }}
                {%- for experiment, weights in splits.items() %}
                {%- for variant, weight in weights.items() %}
                when experiment_id = '{{ experiment }}' and variant = '{{ variant }}'
                    then {{ weight }}
                {%- endfor %}
                {%- endfor %}
                else 1
            end as double precision
        ) as design_weight
    from aggregated
)

select * from final
