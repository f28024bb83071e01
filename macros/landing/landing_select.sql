{#-
    landing_select(table) returns {sql, origin}: a select with the contract's columns of one
    raw table, cast to varchar, plus _source_file / _source_row.
    DuckDB reads files from SEGMENTS_RAW_PATH (files_landing_select); other adapters read the
    raw schema.
-#}

{% macro landing_select(table) %}
    {{ return(adapter.dispatch('landing_select', 'segments')(table)) }}
{% endmacro %}


{% macro default__landing_select(table) %}
    {#- Warehouse targets: the raw table of the same name in var('raw_schema'). -#}
    {% set raw_database = var('raw_database', none) or target.database %}
    {% set relation = adapter.get_relation(
        database=raw_database, schema=var('raw_schema', 'raw'), identifier=table.name) %}
    {% if relation is none and fakesnow_shims_enabled() %}
        {#- Emulator-only shim: fakesnow runs on DuckDB, so without a raw table it reads the
            contract's files under SEGMENTS_RAW_PATH exactly as the DuckDB target does. -#}
        {{ return(files_landing_select(table)) }}
    {% endif %}
    {% if relation is none %}
        {% if table.is_required_table %}
            {% do log("WARNING: required raw table '" ~ table.name ~ "' not found in "
                ~ raw_database ~ "." ~ var('raw_schema', 'raw') ~ "; treated as empty.", info=true) %}
        {% endif %}
        {{ return({'sql': landing_empty_select(table), 'origin': 'absent'}) }}
    {% endif %}
    {% set present = {} %}
    {% for column in adapter.get_columns_in_relation(relation) %}
        {% do present.update({column.name | lower: column.name}) %}
    {% endfor %}
    {% set sql %}
select
    {{ landing_column_list(table, present, 'table ' ~ relation) }},
    cast('{{ relation }}' as {{ dbt.type_string() }}) as _source_file,
    cast(null as {{ dbt.type_bigint() }}) as _source_row
from {{ relation }}
    {% endset %}
    {{ return({'sql': sql, 'origin': 'table ' ~ relation}) }}
{% endmacro %}


{% macro duckdb__landing_select(table) %}
    {{ return(files_landing_select(table)) }}
{% endmacro %}
