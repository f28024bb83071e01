{% macro row_fingerprint(columns) %}
    {{ return(adapter.dispatch('row_fingerprint', 'segments')(columns)) }}
{% endmacro %}

{% macro default__row_fingerprint(columns) %}
    {#- A 64-bit hash of the columns (nulls included), for comparing sets of rows by the sum of
        their fingerprints: hash() takes any number of arguments on DuckDB and Snowflake. -#}
    hash({{ columns | join(', ') }})
{%- endmacro %}
