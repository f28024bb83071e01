{% macro check_pii_salt() %}
    {#-
        on-run-start hook, before anything else. With the built-in demo salt (or a blank
        SEGMENTS_PII_SALT) every invocation logs a one-line warning; on a Snowflake target other
        than the snowflake_local emulator it stops the run before any model is built, because
        hashes salted with a public value can be reversed by hashing candidate emails.
    -#}
    {% if not execute %}{{ return('') }}{% endif %}
    {%- set salt = pii_salt() -%}
    {%- if salt != pii_salt(demo_default=true) and salt | trim != '' -%}
        {{ return('') }}
    {%- endif -%}
    {%- if target.type == 'snowflake' and target.name != 'snowflake_local' -%}
        {% do exceptions.raise_compiler_error(
            "SEGMENTS_PII_SALT is unset, blank or the public demo salt on Snowflake target '"
            ~ target.name ~ "': set SEGMENTS_PII_SALT to a secret value before building real "
            ~ "data; no model was built.") %}
    {%- endif -%}
    {% do log(
        "WARNING: PII is hashed with the built-in demo salt (SEGMENTS_PII_SALT is unset, blank "
        ~ "or the demo value): fine for demo data; set a secret salt for real data "
        ~ "(docs/privacy.md).", info=true) %}
    {{ return('') }}
{% endmacro %}
