{% test segment_sizes(model, column_name, family, min_share=none, max_share=none) %}
    {#-
        Refuses degenerate segments of one family (a column of one segment name per row):
        a segment not in the segment_catalog seed, a segment smaller than its catalogue
        min_size, and (for segments whose min_size is above 0, i.e. not a default bucket such as
        'general_audience') a share of rows below min_share or above max_share.
        Returns one row per offending segment with the reason. Populations smaller than
        var('segment_gate_min_population') are too small to judge and pass.
    -#}
    {%- set min_share = var('segment_min_share') if min_share is none else min_share -%}
    {%- set max_share = var('segment_max_share') if max_share is none else max_share -%}
    with

    sizes as (
        select
            {{ column_name }} as segment_name,
            count(*) as member_count
        from {{ model }}
        group by 1
    ),

    population as (
        select sum(member_count) as person_count from sizes
    ),

    catalog as (
        select segment_name, min_size
        from {{ ref('segment_catalog') }}
        where segment_family = '{{ family }}'
    ),

    checked as (
        select
            sizes.segment_name,
            sizes.member_count,
            1.0 * sizes.member_count / population.person_count as member_share,
            catalog.min_size,
            case
                when catalog.segment_name is null then 'not in segment_catalog'
                when sizes.member_count < catalog.min_size then 'below catalogue min_size'
                when catalog.min_size > 0
                    and 1.0 * sizes.member_count / population.person_count < {{ min_share }}
                    then 'share below {{ min_share }}'
                when catalog.min_size > 0
                    and 1.0 * sizes.member_count / population.person_count > {{ max_share }}
                    then 'share above {{ max_share }}'
            end as failure
        from sizes
        cross join population
        left join catalog
            on sizes.segment_name = catalog.segment_name
    )

    select checked.*
    from checked
    cross join population
    where
        checked.failure is not null
        and population.person_count >= {{ var('segment_gate_min_population') }}
{% endtest %}
