{#-
    landing_select(table) returns {sql, origin}: a select with the contract's columns of one
    raw table, cast to varchar, plus _source_file / _source_row.
    DuckDB reads files from SEGMENTS_RAW_PATH; other adapters read the raw schema.
-#}

{% macro landing_select(table) %}
    {{ return(adapter.dispatch('landing_select', 'segments')(table)) }}
{% endmacro %}


{% macro default__landing_select(table) %}
    {#- Warehouse targets: the raw table of the same name in var('raw_schema'). -#}
    {% set raw_database = var('raw_database', none) or target.database %}
    {% set relation = adapter.get_relation(
        database=raw_database, schema=var('raw_schema', 'raw'), identifier=table.name) %}
    {% if relation is none %}
        {% if table.is_required_table %}
            {% do log("WARNING: required raw table '" ~ table.name ~ "' not found in "
                ~ raw_database ~ "." ~ var('raw_schema', 'raw') ~ "; treated as empty.", info=true) %}
        {% endif %}
        {{ return({'sql': landing_empty_select(table), 'origin': 'absent'}) }}
    {% endif %}
    {% set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list %}
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
    {#- DuckDB: every *.parquet and *.csv file in <SEGMENTS_RAW_PATH>/<table>/. -#}
    {% set root = env_var('SEGMENTS_RAW_PATH', 'data/raw').rstrip('/') %}
    {% set folder = root ~ '/' ~ table.name %}
    {% set listing = run_query(
        "select file from glob('" ~ folder ~ "/*.parquet') "
        ~ "union all select file from glob('" ~ folder ~ "/*.csv') order by file") %}
    {% set files = listing.columns[0].values() | list %}
    {% if files | length == 0 %}
        {% if table.is_required_table %}
            {% do log("WARNING: required raw table '" ~ table.name ~ "' has no *.parquet or *.csv file in "
                ~ folder ~ "; treated as empty.", info=true) %}
        {% endif %}
        {{ return({'sql': landing_empty_select(table), 'origin': 'absent'}) }}
    {% endif %}

    {% set parquet_files = [] %}
    {% set csv_files = [] %}
    {% for file in files %}
        {% do (parquet_files if file.endswith('.parquet') else csv_files).append(file) %}
    {% endfor %}
    {% set branches = [] %}
    {% set prefix_length = (root ~ '/') | length %}

    {% if parquet_files %}
        {% set file_list = "['" ~ parquet_files | join("', '") ~ "']" %}
        {% set schema_rows = run_query(
            "select file_name, lower(name) from parquet_schema(" ~ file_list ~ ") "
            ~ "where name <> 'duckdb_schema' and name <> 'schema'") %}
        {% set columns_by_file = {} %}
        {% for row in schema_rows.rows %}
            {% do columns_by_file.setdefault(row[0], []).append(row[1]) %}
        {% endfor %}
        {% set present_anywhere = [] %}
        {% for file in parquet_files %}
            {% set present = columns_by_file.get(file, []) %}
            {% do landing_column_list(table, present, "file '" ~ file ~ "'") %}
            {% do present_anywhere.extend(present) %}
        {% endfor %}
        {% set sql %}
select
    {{ landing_column_list(table, present_anywhere, folder) }},
    substr(filename, {{ prefix_length + 1 }}) as _source_file,
    cast(file_row_number as bigint) as _source_row
from read_parquet({{ file_list }}, union_by_name = true, filename = true, file_row_number = true)
        {% endset %}
        {% do branches.append(sql) %}
    {% endif %}

    {% for file in csv_files %}
        {% set reader = "read_csv('" ~ file ~ "', header = true, all_varchar = true, filename = true)" %}
        {% set described = run_query("describe select * from " ~ reader) %}
        {% set present = described.columns[0].values() | map('lower') | list %}
        {% set sql %}
select
    {{ landing_column_list(table, present, "file '" ~ file ~ "'") }},
    substr(filename, {{ prefix_length + 1 }}) as _source_file,
    cast(ordinality - 1 as bigint) as _source_row
from {{ reader }} with ordinality
        {% endset %}
        {% do branches.append(sql) %}
    {% endfor %}

    {{ return({
        'sql': branches | join('\nunion all\n'),
        'origin': files | length ~ ' file(s) in ' ~ folder,
    }) }}
{% endmacro %}
