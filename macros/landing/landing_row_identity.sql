{% macro landing_row_identity(columns) %}
    {#- A bigint identity of a raw row from its columns (nulls included): a 64-bit hash, kept
        within the signed range (Snowflake's hash() is signed, DuckDB's, under the emulator,
        unsigned). Used as _source_row of warehouse tables without loader lineage. -#}
    cast({{ row_fingerprint(columns) }} % 9223372036854775807 as {{ dbt.type_bigint() }})
{%- endmacro %}
