{% macro psi_term(current_share, reference_share, epsilon) %}
    {#- One bin's term of the population stability index, both shares floored at `epsilon`
        (an empty bin counts as a small share, not as an infinite term):
        (current - reference) * ln(current / reference). -#}
    (
        greatest({{ current_share }}, {{ epsilon }}) - greatest({{ reference_share }}, {{ epsilon }})
    ) * ln(
        greatest({{ current_share }}, {{ epsilon }}) / greatest({{ reference_share }}, {{ epsilon }})
    )
{% endmacro %}
