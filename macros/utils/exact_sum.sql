{% macro exact_sum(expression, scale=9) %}
    {#-
        The sum of a floating-point expression that does not depend on the order rows are added
        in (parallel aggregation adds them in any order, and float addition is not
        associative): each value is rounded to `scale` decimals and summed as an exact decimal.
        Same input, same bits, on every engine.
    -#}
    sum(cast(round({{ expression }}, {{ scale }}) as decimal(38, {{ scale }})))
{%- endmacro %}

{% macro exact_avg(expression, scale=9) %}
    {#- The average of a floating-point expression over its non-null values (as exact_sum), as a
        double (dbt.type_float() is 32-bit on DuckDB). -#}
    cast(
        {{ exact_sum(expression, scale) }} / nullif(count({{ expression }}), 0)
        as double precision
    )
{%- endmacro %}
