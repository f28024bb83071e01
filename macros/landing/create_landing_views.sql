{% macro create_landing_views() %}
    {#-
        Runs at the start of every dbt invocation (on-run-start). For each raw table of the
        contract it creates a view <landing_schema>.<table> with exactly the contract's columns
        (all varchar, missing optional columns as null, extra columns dropped) plus
        _source_file and _source_row (lineage of every raw row). A missing required column
        stops the run with a message naming the table, the file and the column.
    -#}
    {% if not execute %}{{ return('') }}{% endif %}
    {% do check_raw_root() %}
    {% set landing = api.Relation.create(
        database=target.database, schema=var('landing_schema', 'landing')) %}
    {% do adapter.create_schema(landing) %}
    {% set summary = [] %}
    {% for table in landing_contract() %}
        {% set result = landing_select(table) %}
        {% set relation = api.Relation.create(
            database=target.database,
            schema=var('landing_schema', 'landing'),
            identifier=table.name,
            type='view') %}
        {% call statement('landing_' ~ table.name) %}
            create or replace view {{ relation }} as {{ result.sql }}
        {% endcall %}
        {% do summary.append(table.name ~ ': ' ~ result.origin) %}
    {% endfor %}
    {#- Hooks do not commit on their own: make the views visible to every model thread. -#}
    {% do adapter.commit() %}
    {% do log('Landing views: ' ~ summary | join('; '), info=true) %}
    {{ return('') }}
{% endmacro %}
