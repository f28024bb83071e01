{% macro landing_column_list(table, present_columns, source_label) %}
    {#-
        Projection of the contract columns; raises when a required column is missing.
        present_columns maps each lower-case column name to its name as stored, which is what
        gets quoted (a Snowflake table created without quotes stores EVENT_ID, not event_id).
    -#}
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
            {% do projections.append(
                'cast(' ~ adapter.quote(present_columns[column.name]) ~ ' as '
                ~ dbt.type_string() ~ ') as ' ~ column.name) %}
        {% else %}
            {% do projections.append('cast(null as ' ~ dbt.type_string() ~ ') as ' ~ column.name) %}
        {% endif %}
    {% endfor %}
    {{ return(projections | join(',\n    ')) }}
{% endmacro %}
