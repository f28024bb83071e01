{% macro row_fingerprint(columns) %}
    {#- A 64-bit hash of the columns (nulls included), for comparing sets of rows by the sum of
        their fingerprints. hash() takes any number of arguments on DuckDB and on Snowflake
        alike, so there is one implementation; dispatch when an adapter needs another. -#}
    hash({{ columns | join(', ') }})
{%- endmacro %}
