{% macro fakesnow_shims_enabled() %}
    {#-
        True when the emulator shims apply: var('fakesnow_shims') when set, else only on the
        target named snowflake_local. The dialect check compiles the snowflake_local target with
        fakesnow_shims=false, so it checks exactly the SQL real Snowflake would receive.
    -#}
    {%- set override = var('fakesnow_shims', none) -%}
    {%- if override is not none -%}
        {{ return(override in (true, 'true', 'True', 1)) }}
    {%- endif -%}
    {{ return(target.type == 'snowflake' and target.name == 'snowflake_local') }}
{% endmacro %}
