{% macro sql_string_list(values) %}
    {#- A comma-separated list of SQL string literals (quotes escaped), for `in (...)`. -#}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{- quoted | join(', ') if quoted else "''" -}}
{% endmacro %}
