{% macro realtime_config() %}
    {#-
        Materialisation of the real-time window models: a table rebuilt by the fast path, or on
        a Snowflake target with var('snowflake_dynamic_target_lag') set (e.g. '1 minute') a
        dynamic table that Snowflake keeps within that lag, refreshed on the target's warehouse.
    -#}
    {%- set lag = var('snowflake_dynamic_target_lag') -%}
    {%- if lag and target.type == 'snowflake' -%}
        {{ return({'materialized': 'dynamic_table', 'target_lag': lag,
                   'snowflake_warehouse': target.warehouse, 'refresh_mode': 'AUTO',
                   'on_configuration_change': 'apply', 'tags': ['realtime']}) }}
    {%- endif -%}
    {{ return({'materialized': 'table', 'tags': ['realtime']}) }}
{% endmacro %}
