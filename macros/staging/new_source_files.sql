{% macro new_source_files(base_relation, seen_relation) %}
    {#-
        The files of base_relation (by _source_file) that seen_relation has no row of, sorted: what
        an incremental model on file lineage has not read yet. Run at execution time; outside it
        (parsing) the list is empty.
    -#}
    {%- if not execute %}
        {{ return([]) }}
    {%- endif %}
    {%- set listing = run_query(
        "select distinct _source_file from " ~ base_relation
        ~ " where _source_file is not null except select distinct _source_file from "
        ~ seen_relation ~ " where _source_file is not null order by 1") %}
    {{ return(listing.columns[0].values() | list) }}
{% endmacro %}
