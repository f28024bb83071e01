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
    {#- Lineage: the loader columns _source_file / _source_row when the raw table has them
        (python -m python_utils load-snowflake writes both, as the DuckDB target reads them from
        the files; COPY INTO can load METADATA$FILENAME / METADATA$FILE_ROW_NUMBER into them).
        Without them a row is identified by its content: _source_file is the table's name and
        _source_row a 64-bit hash of the row's contract columns and its copy number among
        identical rows (rows equal in every contract column are interchangeable, so ordering
        by the hash is deterministic, and the identity stays the same when rows are added). -#}
    {% set source_file -%}
        {%- if '_source_file' in present -%}
            cast({{ adapter.quote(present['_source_file']) }} as {{ dbt.type_string() }})
        {%- else -%}
            cast('{{ relation }}' as {{ dbt.type_string() }})
        {%- endif -%}
    {%- endset %}
    {% if '_source_row' in present %}
        {% set sql %}
select
    {{ landing_column_list(table, present, 'table ' ~ relation) }},
    {{ source_file }} as _source_file,
    cast({{ adapter.quote(present['_source_row']) }} as {{ dbt.type_bigint() }}) as _source_row
from {{ relation }}
        {% endset %}
    {% else %}
        {% set contract_columns = table.columns | map(attribute='name') | list %}
        {% set sql %}
select
    {{ contract_columns | join(',\n    ') }},
    _source_file,
    {{ landing_row_identity(contract_columns + ['_copy_number']) }} as _source_row
from (
    select
        contract_rows.*,
        row_number() over (
            partition by {{ contract_columns | join(', ') }}
            order by _source_file
        ) as _copy_number
    from (
        select
            {{ landing_column_list(table, present, 'table ' ~ relation) }},
            {{ source_file }} as _source_file
        from {{ relation }}
    ) as contract_rows
) as numbered_rows
        {% endset %}
    {% endif %}
    {{ return({'sql': sql, 'origin': 'table ' ~ relation}) }}
{% endmacro %}


{% macro duckdb__landing_select(table) %}
    {{ return(files_landing_select(table)) }}
{% endmacro %}
