{% macro landing_empty_select(table) %}
    {% set projections = [] %}
    {% for column in table.columns %}
        {% do projections.append('cast(null as ' ~ dbt.type_string() ~ ') as ' ~ column.name) %}
    {% endfor %}
    {{ return('select ' ~ projections | join(', ')
        ~ ', cast(null as ' ~ dbt.type_string() ~ ') as _source_file'
        ~ ', cast(null as ' ~ dbt.type_bigint() ~ ') as _source_row where 1 = 0') }}
{% endmacro %}
