{% macro shrunk_rate(numerator, denominator, prior_value, pseudo_count) %}
    {#- A per-person rate numerator / denominator shrunk towards prior_value with pseudo_count
        pseudo-observations (empirical Bayes): a person with no observations gets prior_value. -#}
    ((coalesce({{ numerator }}, 0) + {{ pseudo_count }} * {{ prior_value }})
        / (coalesce({{ denominator }}, 0) + {{ pseudo_count }}))
{%- endmacro %}
