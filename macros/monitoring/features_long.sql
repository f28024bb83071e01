{% macro features_long(relation, features) %}
    {#- One row per person and feature (person_id, feature, feature_value as a double) of the
        listed columns of a wide feature relation: the unpivot the drift macros bin. -#}
    {%- for feature in features %}
    select
        person_id,
        '{{ feature }}' as feature,
        cast({{ feature }} as double precision) as feature_value
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{% endmacro %}
