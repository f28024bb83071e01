{% test group_size_at_least(model, column_name, min_size, ignore_values=[]) %}
    {#-
        Every group of `column_name` (e.g. a cluster) holds at least min_size rows; values in
        ignore_values (e.g. -1, DBSCAN noise) are not judged. Populations smaller than
        var('segment_gate_min_population') rows are too small to judge and pass. Returns one
        row per group that is too small.
    -#}
    with

    sizes as (
        select
            {{ column_name }} as group_value,
            count(*) as member_count
        from {{ model }}
        {%- if ignore_values %}
        where {{ column_name }} not in ({{ ignore_values | join(', ') }})
        {%- endif %}
        group by {{ column_name }}
    ),

    population as (
        select count(*) as row_count from {{ model }}
    )

    select
        sizes.group_value,
        sizes.member_count
    from sizes
    cross join population
    where population.row_count >= {{ var('segment_gate_min_population') }}
        and sizes.member_count < {{ min_size }}
{% endtest %}
