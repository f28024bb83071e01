{% macro drift_level(psi) %}
    {#- none < var('drift_moderate_psi') <= moderate < var('drift_major_psi') <= major. -#}
    case
        when {{ psi }} >= {{ var('drift_major_psi') }} then 'major'
        when {{ psi }} >= {{ var('drift_moderate_psi') }} then 'moderate'
        else 'none'
    end
{% endmacro %}
