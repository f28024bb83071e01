{% macro parse_boolean(column) %}
    {#- true/false, t/f, yes/no, y/n, 1/0 (any case) as boolean; anything else null. -#}
    case
        when lower(trim({{ column }})) in ('true', 't', 'yes', 'y', '1') then true
        when lower(trim({{ column }})) in ('false', 'f', 'no', 'n', '0') then false
    end
{% endmacro %}
