{% test latest_run_within(model, column_name, min_value=none, max_value=none,
                          order_by='run_number', population_column='person_count',
                          min_population=none) %}
    {#-
        Quality gate on a model-runs log: the most recent run (highest `order_by`) must have
        `column_name` at least min_value and/or at most max_value. A missing (null) score fails
        too. Runs over fewer than min_population persons (default
        var('segment_gate_min_population')) are too small to judge and pass. Returns the
        offending run.
    -#}
    {%- set min_population = var('segment_gate_min_population') if min_population is none
        else min_population -%}
    with

    latest as (
        select *
        from {{ model }}
        where {{ order_by }} = (select max({{ order_by }}) from {{ model }})
    )

    select *
    from latest
    where {{ population_column }} >= {{ min_population }}
        and (
            {{ column_name }} is null
            {%- if min_value is not none %}
            or {{ column_name }} < {{ min_value }}
            {%- endif %}
            {%- if max_value is not none %}
            or {{ column_name }} > {{ max_value }}
            {%- endif %}
        )
{% endtest %}
