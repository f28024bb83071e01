{% macro outlier_fences(quartiles) %}
    {#-
        Tukey fences from the rows of outlier_quartiles (one per table, column and value group).
        On the column's fence scale, with Q1 and Q3 the group's quartiles and
        k = var('outlier_iqr_factor'): lower fence = Q1 - k * spread, upper fence = Q3 + k * spread,
        spread = Q3 - Q1. On the log1p scale (amounts, counts, durations: positive and
        right-skewed) the spread is at least ln(var('outlier_min_quartile_ratio')), so a column
        whose values are mostly equal (quantity 1) still gets a fence, and the quartiles and
        fences are turned back into the column's units (exp(f) - 1): they are multiplicative, the
        upper fence is (1 + Q3) * ((1 + Q3) / (1 + Q1))^k - 1. A group is judged only with at
        least var('outlier_min_group_values') values and a spread above zero; otherwise its
        fences are null and fence_status says why (no_values, too_few_values, no_spread).
    -#}
    {%- set min_log_spread = 'ln(' ~ var('outlier_min_quartile_ratio') ~ ')' -%}
    {%- set factor = var('outlier_iqr_factor') %}
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
    from (
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
        from (
            select
                *,
                case
                    when
                        fence_scale = 'log1p'
                        and scaled_upper_quartile - scaled_lower_quartile < {{ min_log_spread }}
                        then {{ min_log_spread }}
                    else scaled_upper_quartile - scaled_lower_quartile
                end as quartile_spread
            from {{ quartiles }}
        ) as spread
    ) as judged
{% endmacro %}
