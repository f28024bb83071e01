{% macro new_source_files(base_relation, seen_relation) %}
    {#-
        The files of base_relation (by _source_file) that seen_relation has no row of, sorted: what
        an incremental model on file lineage has not read yet. Run at execution time; none when
        the relations cannot be read then (parsing, a unit test, or either not built yet, see
        reads_real_tables): new_source_files_filter then reads them in the query instead.
    -#}
    {%- if not reads_real_tables([base_relation, seen_relation]) %}
        {{ return(none) }}
    {%- endif %}
    {%- set listing = run_query(
        "select distinct _source_file from " ~ base_relation
        ~ " where _source_file is not null except select distinct _source_file from "
        ~ seen_relation ~ " where _source_file is not null order by 1") %}
    {{ return(listing.columns[0].values() | list) }}
{% endmacro %}
