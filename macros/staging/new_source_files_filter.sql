{% macro new_source_files_filter(base_relation, seen_relation) %}
    {#-
        A where condition on base_relation's rows: their file is one seen_relation has no row of
        (new_source_files). The file list is written in as constants when it can be read at
        execution time (DuckDB then reads only those files); otherwise (nothing built yet, a unit
        test) the condition asks seen_relation in the query, which keeps the same rows.
    -#}
    {%- set new_files = new_source_files(base_relation, seen_relation) %}
    {%- if new_files is none %}
        {{- return(
            "_source_file is not null and _source_file not in (select seen._source_file from "
            ~ seen_relation ~ " as seen where seen._source_file is not null)") }}
    {%- elif new_files %}
        {{- return("_source_file in (" ~ sql_string_list(new_files) ~ ")") }}
    {%- endif %}
    {{- return("1 = 0") }}
{% endmacro %}
