{% macro landing_column_list(table, present_columns, source_label) %}
    {#- Projection of the contract columns; raises when a required column is missing. -#}
    {% set missing = [] %}
    {% for column in table.columns %}
        {% if column.is_required and column.name not in present_columns %}
            {% do missing.append(column.name) %}
        {% endif %}
    {% endfor %}
    {% if missing %}
        {% do exceptions.raise_compiler_error(
            "Raw table '" ~ table.name ~ "' (" ~ source_label ~ ") is missing required column(s): "
            ~ missing | join(', ') ~ ". Required columns: "
            ~ (table.columns | selectattr('is_required') | map(attribute='name') | join(', '))
            ~ ". See spec/data-contract.md section 1.") %}
    {% endif %}
    {% set projections = [] %}
    {% for column in table.columns %}
        {% if column.name in present_columns %}
            {% do projections.append('cast(' ~ adapter.quote(column.name) ~ ' as ' ~ dbt.type_string() ~ ') as ' ~ column.name) %}
        {% else %}
            {% do projections.append('cast(null as ' ~ dbt.type_string() ~ ') as ' ~ column.name) %}
        {% endif %}
    {% endfor %}
    {{ return(projections | join(',\n    ')) }}
{% endmacro %}
