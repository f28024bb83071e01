{% macro outlier_quartiles(relation, source_table, column, scale, group_column=none) %}
    {#-
        One row per value group of a staged relation for one numeric column: the group's rows,
        values, distinct values, min and max (in the column's units) and its first and third
        continuous quartiles on the fence scale: ln(1 + x) for scale 'log1p' (negative values
        count as 0 there), the value itself for 'linear'. The input of outlier_fences. The group
        is group_column of the relation, or the whole relation ('all': one row, even when it is
        empty).
    -#}
    {%- set value = 'cast(' ~ relation ~ '.' ~ column ~ ' as double precision)' -%}
    {%- if scale == 'log1p' -%}
        {%- set scaled = 'case when ' ~ value ~ ' < 0 then 0 else ln(1 + ' ~ value ~ ') end' -%}
    {%- elif scale == 'linear' -%}
        {%- set scaled = value -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("outlier_quartiles: scale must be 'log1p' or 'linear', not " ~ scale) }}
    {%- endif -%}
    {%- set group = relation ~ '.' ~ group_column if group_column else "'all'" %}
    select
        '{{ source_table }}' as source_table,
        '{{ column }}' as column_name,
        {{ group }} as value_group,
        '{{ scale }}' as fence_scale,
        count(*) as row_count,
        count({{ value }}) as value_count,
        count(distinct {{ value }}) as distinct_count,
        min({{ value }}) as min_value,
        max({{ value }}) as max_value,
        {{ continuous_percentile(scaled, 0.25) }} as scaled_lower_quartile,
        {{ continuous_percentile(scaled, 0.75) }} as scaled_upper_quartile
    from {{ relation }}
    {%- if group_column %}
    group by {{ group }}
    {%- endif %}
{% endmacro %}
