{% macro continuous_percentile(expression, fraction) %}
    {#- The continuous percentile (linear interpolation between the two nearest values) of a
        numeric expression as an aggregate over the group: nulls are ignored, an empty group
        gives null. Dispatched: the SQL standard's ordered-set aggregate on Snowflake and most
        warehouses, DuckDB's quantile_cont on DuckDB. -#}
    {{ return(adapter.dispatch('continuous_percentile', 'segments')(expression, fraction)) }}
{% endmacro %}

{% macro default__continuous_percentile(expression, fraction) %}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{% endmacro %}

{% macro duckdb__continuous_percentile(expression, fraction) %}
    quantile_cont({{ expression }}, {{ fraction }})
{% endmacro %}
