{% macro hash_pii(column) %}
    {#-
        Salted SHA-256 (hex) of a normalised (trimmed, lower-case) PII value; null stays null.
        The salt comes from the environment variable SEGMENTS_PII_SALT; the default is for the
        demo only: set your own secret salt for real data.
    -#}
    {%- set salt = env_var('SEGMENTS_PII_SALT', 'segments-demo-salt') | replace("'", "''") -%}
    {%- set normalised = "nullif(lower(trim(" ~ column ~ ")), '')" -%}
    case
        when {{ normalised }} is not null
            then {{ sha256_hex(dbt.concat(["'" ~ salt ~ "'", normalised])) }}
    end
{% endmacro %}
