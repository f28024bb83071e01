{% macro check_as_of_known() %}
    {#-
        Post-hook of stg_observation_window: stops the build when as_of is unknown, i.e. no
        var('as_of') was given and the data holds no valid event or order to derive it from
        (both tables empty, or every row defective). Every model downstream would otherwise
        observe nothing without saying why. (Hooks run only when the model is built, never in a
        compile or a unit test, and the table exists then: no reads_real_tables check, which
        would ask the relation cache, where Snowflake adds the table only after its hooks.)
    -#}
    {%- if execute %}
        {%- set unknown = run_query(
            "select count(*) from " ~ this ~ " where as_of_date is null").columns[0].values()[0] %}
        {%- if unknown > 0 %}
            {%- do exceptions.raise_compiler_error(
                "as_of cannot be derived: the raw events and orders hold no valid row (both are "
                ~ "empty, or every row is defective), so there is no observation day. Pass it: "
                ~ "--vars '{\"as_of\": \"YYYY-MM-DD\"}' (data contract section 3).") %}
        {%- endif %}
    {%- endif %}
{% endmacro %}
