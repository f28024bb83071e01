{% macro consent_default_basis(purpose_column, region_column) %}
    {#-
        Where the default of consent_default comes from: 'region_default' when
        var('consent_region_defaults') names the region and the purpose, else 'fallback_default'.
    -#}
    case
        {%- for region, purposes in var('consent_region_defaults').items() %}
        when {{ region_column }} = '{{ region }}'
            and {{ purpose_column }} in ({{ sql_string_list(purposes.keys() | list) }})
            then 'region_default'
        {%- endfor %}
        else 'fallback_default'
    end
{% endmacro %}
