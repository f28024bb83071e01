{% macro snowflake__create_table_temporary_sql(relation, compiled_code) %}
    {#-
        Shim for the local fakesnow target only: fakesnow cannot create a TEMPORARY table under a
        fully-qualified name (dbt's unit tests and incremental models do), so there the scratch
        relation is an ordinary table, which dbt drops or replaces afterwards. Every other
        target gets dbt-snowflake's own temporary table unchanged.
    -#}
    {%- if fakesnow_shims_enabled() -%}
        create or replace table {{ relation }} as (
            {{ compiled_code }}
        );
    {%- else -%}
        {{ dbt_snowflake.snowflake__create_table_temporary_sql(relation, compiled_code) }}
    {%- endif -%}
{% endmacro %}
