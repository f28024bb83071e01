{% macro is_discount_campaign(campaign_column) %}
    {#- True when the (lower-cased) campaign matches any of var('rule_discount_campaign_patterns'). -#}
    (
        {%- for pattern in var('rule_discount_campaign_patterns') %}
        lower(coalesce({{ campaign_column }}, '')) like '{{ pattern }}'
        {%- if not loop.last %} or{% endif %}
        {%- endfor %}
    )
{%- endmacro %}
