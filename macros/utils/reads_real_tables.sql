{% macro reads_real_tables() %}
    {#- True while a model renders to run against the warehouse: executing, and not as a dbt unit
        test, whose refs are fixture CTEs that a run_query cannot read. Guards the run_query calls
        that only write an optimisation (a constant bound) into a model's SQL. -#}
    {{ return(execute and model.resource_type != 'unit_test') }}
{% endmacro %}
