{% macro reads_real_tables(relations=[]) %}
    {#- True while a model renders to run against the warehouse and every relation in relations
        exists there: executing, not as a dbt unit test (whose refs are fixture CTEs that a
        run_query cannot read), and each relation found by adapter.get_relation (a compile,
        docs generate or first build on a target where they are not built yet finds none).
        Guards the compile-time reads (run_query, get_columns_in_relation) that only write an
        optimisation (a constant bound, a file or column list) into a model's SQL: when it is
        false the model renders its plain query, which gives the same rows. -#}
    {%- if not execute or model.resource_type == 'unit_test' %}
        {{- return(false) }}
    {%- endif %}
    {%- for relation in relations %}
        {%- if adapter.get_relation(
                database=relation.database,
                schema=relation.schema,
                identifier=relation.identifier) is none %}
            {{- return(false) }}
        {%- endif %}
    {%- endfor %}
    {{- return(true) }}
{% endmacro %}
