{% macro layer_schemas_enabled() %}
    {#-
        True when models go to the schemas of their layer (generate_schema_name):
        var('layer_schemas_enabled') when set, else on real Snowflake targets only. DuckDB and the
        snowflake_local emulator keep every model in the target schema, where outside checks and
        the parity tests read them by name.
    -#}
    {%- set override = var('layer_schemas_enabled', none) -%}
    {%- if override is not none -%}
        {{ return(override in (true, 'true', 'True', 1)) }}
    {%- endif -%}
    {{ return(target.type == 'snowflake' and target.name != 'snowflake_local') }}
{% endmacro %}
