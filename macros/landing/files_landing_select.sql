{% macro files_landing_select(table) %}
    {#-
        Every *.parquet and *.csv file in <SEGMENTS_RAW_PATH>/<table>/, read with DuckDB's
        table functions (the DuckDB target, and the fakesnow emulator, which runs on DuckDB).
    -#}
    {% set root = env_var('SEGMENTS_RAW_PATH', 'data/raw').rstrip('/') %}
    {% set folder = root ~ '/' ~ table.name %}
    {#- read_blob lists matching files (an empty result when none) and reads no content when only
        the file name is selected; it also passes through the fakesnow emulator unchanged. -#}
    {% set listing = run_query(
        "select filename from read_blob('" ~ folder ~ "/*.parquet') "
        ~ "union all select filename from read_blob('" ~ folder ~ "/*.csv') order by 1") %}
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
            "select file_name, name from parquet_schema(" ~ file_list ~ ") "
            ~ "where name <> 'duckdb_schema' and name <> 'schema'") %}
        {% set columns_by_file = {} %}
        {% for row in schema_rows.rows %}
            {% do columns_by_file.setdefault(row[0], {}).update({row[1] | lower: row[1]}) %}
        {% endfor %}
        {% set present_anywhere = {} %}
        {% for file in parquet_files %}
            {% set present = columns_by_file.get(file, {}) %}
            {% do landing_column_list(table, present, "file '" ~ file ~ "'") %}
            {% do present_anywhere.update(present) %}
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
        {% set header = run_query("select * from " ~ reader ~ " limit 0") %}
        {% set present = {} %}
        {% for name in header.column_names if name | lower not in ('filename',) %}
            {% do present.update({name | lower: name}) %}
        {% endfor %}
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
