{% macro hash_pii(column) %}
    {#-
        Salted SHA-256 (hex) of a normalised (trimmed, lower-case) PII value; null stays null.
        The salt is pii_salt(): the environment variable SEGMENTS_PII_SALT, else the public demo
        salt (check_pii_salt warns about it, and refuses it on real Snowflake targets).
    -#}
    {%- set salt = pii_salt() | replace("'", "''") -%}
    {%- set normalised = "nullif(lower(trim(" ~ column ~ ")), '')" -%}
    case
        when {{ normalised }} is not null
            then {{ sha256_hex(dbt.concat(["'" ~ salt ~ "'", normalised])) }}
    end
{% endmacro %}
