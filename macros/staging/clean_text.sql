{% macro clean_text(column, case=none) %}
    {#- Trimmed text, empty string as null; case='lower' or 'upper' normalises codes. -#}
    {%- set trimmed = 'nullif(trim(' ~ column ~ "), '')" -%}
    {%- if case == 'lower' -%}
        lower({{ trimmed }})
    {%- elif case == 'upper' -%}
        upper({{ trimmed }})
    {%- else -%}
        {{ trimmed }}
    {%- endif -%}
{% endmacro %}
