{% macro consent_default(purpose_column, region_column) %}
    {#-
        The decision that applies to a person who decided nothing for a purpose: the default of
        the person's region from var('consent_region_defaults') (opt-in regions: refused until
        granted), else the fallback: var('analytics_consent_default') for analytics,
        var('consent_default_granted') for the other purposes. A boolean expression.
    -#}
    {%- set fallback = var('consent_default_granted') -%}
    case
        {%- for region, purposes in var('consent_region_defaults').items() %}
        {%- for purpose, granted in purposes.items() %}
        when {{ region_column }} = '{{ region }}' and {{ purpose_column }} = '{{ purpose }}'
            then {{ 'true' if granted else 'false' }}
        {%- endfor %}
        {%- endfor %}
        when {{ purpose_column }} = 'analytics'
            then {{ 'true' if var('analytics_consent_default') else 'false' }}
        else {{ 'true' if fallback else 'false' }}
    end
{% endmacro %}
