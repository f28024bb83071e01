{% macro snowflake__call_dcl_statements(dcl_statement_list) %}
    {#-
        Shim for the local fakesnow target only: fakesnow cannot parse GRANT or REVOKE, so there
        each statement dbt-snowflake generates from a model's grants config is logged
        ("Emulator DCL: grant ...") instead of executed; tests read the log. Every other target
        runs the statements as dbt does.
    -#}
    {%- if fakesnow_shims_enabled() -%}
        {%- for dcl_statement in dcl_statement_list -%}
            {%- do log('Emulator DCL: ' ~ dcl_statement | trim, info=true) -%}
        {%- endfor -%}
    {%- else -%}
        {%- do dbt.default__call_dcl_statements(dcl_statement_list) -%}
    {%- endif -%}
{% endmacro %}
