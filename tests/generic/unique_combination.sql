{% test unique_combination(model, combination) %}
    {#- The columns in `combination` together identify at most one row (nulls included). -#}
    select
        {{ combination | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ combination | join(', ') }}
    having count(*) > 1
{% endtest %}
