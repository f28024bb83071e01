{% macro generate_schema_name(custom_schema_name=none, node=none) -%}
    {#-
        The schema of every node. With layer schemas on (layer_schemas_enabled(): real Snowflake
        targets by default), a model goes to the schema of its layer, models/<layer>/... ->
        var('layer_schemas')[layer] (staging, intermediate, marts), so that a reader role granted
        the marts schema never reaches landing, staging or intermediate relations. Otherwise, and
        for every other node (seeds, tests) and any model with its own schema config, dbt's
        default: the target schema, or <target schema>_<custom schema>.
    -#}
    {%- set layer = node.fqn[1] if node.resource_type == 'model' and node.fqn | length > 2
        else none -%}
    {%- set layers = var('layer_schemas', {}) or {} -%}
    {%- if custom_schema_name is none and layer in layers and layer_schemas_enabled() -%}
        {%- set schema = layers[layer] | trim -%}
        {%- if schema | lower == var('landing_schema', 'landing') | lower -%}
            {%- do exceptions.raise_compiler_error(
                "layer_schemas." ~ layer ~ " is the landing schema '" ~ schema
                ~ "': the landing views (raw data, PII) must have a schema of their own.") -%}
        {%- endif -%}
        {{ schema }}
    {%- else -%}
        {{ default__generate_schema_name(custom_schema_name, node) }}
    {%- endif -%}
{%- endmacro %}
