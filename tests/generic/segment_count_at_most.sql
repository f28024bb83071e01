{% test segment_count_at_most(model, column_name, max_segments=none) %}
    {#- A segment family (one column) holds at most max_segments distinct segments. -#}
    {%- set max_segments = var('segment_max_segments_per_family') if max_segments is none
        else max_segments -%}
    select count(distinct {{ column_name }}) as segment_count
    from {{ model }}
    having count(distinct {{ column_name }}) > {{ max_segments }}
{% endtest %}
