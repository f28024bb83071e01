{% macro duckdb__safe_cast(field, type) %}
    {#-
        dbt.safe_cast on DuckDB: try_cast, so an unparseable number in a raw file (any text in
        a CSV column) becomes null and the row is judged (e.g. invalid_amount), instead of the
        cast failing the whole build. dbt-duckdb falls back to a plain cast here; Snowflake's
        own safe_cast is already a try_cast.
    -#}
    try_cast({{ field }} as {{ type }})
{% endmacro %}
