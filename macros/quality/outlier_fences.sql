{% macro outlier_fences(measurements) %}
    {#-
        Tukey fences per table, column and value group of an outlier measurements model (one
        row per staged row and fenced column: source_table, column_name, value_group,
        fence_scale, measured_value). On the column's fence scale, with Q1 and Q3 the
        continuous quartiles of the group's values and k = var('outlier_iqr_factor'):
        lower fence = Q1 - k * spread, upper fence = Q3 + k * spread, spread = Q3 - Q1.
        'log1p' columns (amounts, counts, durations: positive and right-skewed) are fenced on
        ln(1 + x), negative values counting as 0 there, and the fences are turned back into the
        column's units (exp(f) - 1), so they are multiplicative: the upper fence is
        (1 + Q3) * ((1 + Q3) / (1 + Q1))^k - 1. There the spread is at least
        ln(var('outlier_min_quartile_ratio')), so a column whose values are mostly equal
        (quantity 1) still gets a fence. 'linear' columns are fenced on their own scale.
        A group is judged only with at least var('outlier_min_group_values') values and a
        spread above zero; otherwise its fences are null and fence_status says why
        (no_values, too_few_values, no_spread).
    -#}
    {%- set min_log_spread = 'ln(' ~ var('outlier_min_quartile_ratio') ~ ')' -%}
    {%- set factor = var('outlier_iqr_factor') -%}
    with

    measurements as (
        select * from {{ measurements }}
    ),

    -- each value on the scale its fence is computed on
    scaled as (
        select
            source_table,
            column_name,
            value_group,
            fence_scale,
            measured_value,
            case
                when measured_value is null then null
                when fence_scale = 'linear' then measured_value
                when measured_value < 0 then 0
                else ln(1 + measured_value)
            end as scaled_value
        from measurements
    ),

    quartiles as (
        select
            source_table,
            column_name,
            value_group,
            fence_scale,
            count(*) as row_count,
            count(measured_value) as value_count,
            count(distinct measured_value) as distinct_count,
            min(measured_value) as min_value,
            max(measured_value) as max_value,
            {{ continuous_percentile('scaled_value', 0.25) }} as scaled_lower_quartile,
            {{ continuous_percentile('scaled_value', 0.75) }} as scaled_upper_quartile
        from scaled
        group by source_table, column_name, value_group, fence_scale
    ),

    spread as (
        select
            *,
            case
                when
                    fence_scale = 'log1p'
                    and scaled_upper_quartile - scaled_lower_quartile < {{ min_log_spread }}
                    then {{ min_log_spread }}
                else scaled_upper_quartile - scaled_lower_quartile
            end as quartile_spread
        from quartiles
    ),

    judged as (
        select
            *,
            case
                when value_count = 0 then 'no_values'
                when value_count < {{ var('outlier_min_group_values') }} then 'too_few_values'
                when quartile_spread <= 0 then 'no_spread'
                else 'judged'
            end as fence_status,
            scaled_lower_quartile - {{ factor }} * quartile_spread as scaled_lower_fence,
            scaled_upper_quartile + {{ factor }} * quartile_spread as scaled_upper_fence
        from spread
    ),

    final as (
        select
            source_table,
            column_name,
            value_group,
            fence_scale,
            row_count,
            value_count,
            row_count - value_count as null_count,
            distinct_count,
            min_value,
            max_value,
            round(
                case
                    when fence_scale = 'log1p' then exp(scaled_lower_quartile) - 1
                    else scaled_lower_quartile
                end, 6
            ) as lower_quartile,
            round(
                case
                    when fence_scale = 'log1p' then exp(scaled_upper_quartile) - 1
                    else scaled_upper_quartile
                end, 6
            ) as upper_quartile,
            round(quartile_spread, 6) as quartile_spread,
            cast({{ factor }} as double precision) as fence_factor,
            case
                when fence_status = 'judged'
                    then round(
                        case
                            when fence_scale = 'log1p' then exp(scaled_lower_fence) - 1
                            else scaled_lower_fence
                        end, 6
                    )
            end as lower_fence,
            case
                when fence_status = 'judged'
                    then round(
                        case
                            when fence_scale = 'log1p' then exp(scaled_upper_fence) - 1
                            else scaled_upper_fence
                        end, 6
                    )
            end as upper_fence,
            fence_status
        from judged
    )

    select * from final
{% endmacro %}
