{% macro check_raw_root() %}
    {{ return(adapter.dispatch('check_raw_root', 'segments')()) }}
{% endmacro %}

{% macro default__check_raw_root() %}
    {#- Warehouse targets: absent raw tables are reported per table by default__landing_select. -#}
{% endmacro %}

{% macro duckdb__check_raw_root() %}
    {#- A raw folder without any file in a table folder is a structural error, not a dataset. -#}
    {% set root = env_var('SEGMENTS_RAW_PATH', 'data/raw').rstrip('/') %}
    {% set entries = run_query("select count(*) from glob('" ~ root ~ "/*/*')") %}
    {% if entries.columns[0].values()[0] == 0 %}
        {% do exceptions.raise_compiler_error(
            "SEGMENTS_RAW_PATH '" ~ root ~ "' has no data file: expected one folder per "
            ~ "raw table (events/, orders/, customers/, ...) holding *.parquet or *.csv files.") %}
    {% endif %}
{% endmacro %}
