{% macro landing_contract() %}
    {#-
        The raw-table contract, read from this project's source definitions (the single place
        where table and column names live): a list of
        {name, source_name, is_required_table, columns: [{name, is_required}]}. The sources
        are the segments package's by name, not project_name: installed as a package, the
        project's name is the root project's.
    -#}
    {% set tables = [] %}
    {% for node in graph.sources.values()
        if node.package_name == 'segments'
        and node.schema == var('landing_schema', 'landing') %}
        {% set columns = [] %}
        {% for column in node.columns.values() %}
            {% set column_meta = column.config.meta if column.config is defined and column.config.meta else column.meta %}
            {% do columns.append({
                'name': column.name | lower,
                'is_required': (column_meta or {}).get('required', false),
            }) %}
        {% endfor %}
        {% set table_meta = node.config.meta if node.config.meta else node.meta %}
        {% do tables.append({
            'name': node.name | lower,
            'source_name': node.source_name,
            'is_required_table': (table_meta or {}).get('contract_required', false),
            'columns': columns,
        }) %}
    {% endfor %}
    {{ return(tables | sort(attribute='name')) }}
{% endmacro %}
