{% macro phone_stripped(column) %}
    {#- A phone without separators (spaces, dashes, dots, parentheses, slashes; a British '(0)'
        first); null when nothing is left. -#}
    nullif(translate(replace(trim({{ column }}), '(0)', ''), ' -.()/', ''), '')
{% endmacro %}

{% macro phone_e164(stripped, country_column=none) %}
    {#-
        The E.164 form ('+' and var identity_phone_min_digits to identity_phone_max_digits
        digits) of a phone_stripped value, else null. '+...' stays; '00...' becomes '+...';
        one leading national trunk '0' becomes '+' + the calling code + the rest; bare digits get
        '+' + the calling code. The calling code is that of the row's country (var
        identity_phone_calling_codes), else that of var identity_phone_default_country.
    -#}
    {%- set codes = var('identity_phone_calling_codes') -%}
    {%- set default_code = codes.get(var('identity_phone_default_country')) -%}
    {%- if default_code is none -%}
        {{ exceptions.raise_compiler_error("identity_phone_default_country ("
            ~ var('identity_phone_default_country') ~ ") is not a key of identity_phone_calling_codes") }}
    {%- endif -%}
    {%- set code -%}
        {%- if country_column -%}
            case {{ country_column }}
            {%- for country, calling in codes.items() %} when '{{ country }}' then '{{ calling }}'
            {%- endfor %} else '{{ default_code }}' end
        {%- else -%}
            '{{ default_code }}'
        {%- endif -%}
    {%- endset -%}
    {%- set prefixed -%}
        case
            when left({{ stripped }}, 1) = '+' then {{ stripped }}
            when left({{ stripped }}, 2) = '00'
                then {{ dbt.concat(["'+'", "substr(" ~ stripped ~ ", 3)"]) }}
            when left({{ stripped }}, 1) = '0'
                then {{ dbt.concat(["'+'", code, "substr(" ~ stripped ~ ", 2)"]) }}
            else {{ dbt.concat(["'+'", code, stripped]) }}
        end
    {%- endset -%}
    case
        when translate(substr({{ prefixed }}, 2), '0123456789', '') = ''
            and length({{ prefixed }}) - 1 between {{ var('identity_phone_min_digits') }}
                and {{ var('identity_phone_max_digits') }}
            and substr({{ prefixed }}, 2, 1) <> '0'
            then {{ prefixed }}
    end
{% endmacro %}
