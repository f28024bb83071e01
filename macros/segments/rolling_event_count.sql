{% macro rolling_event_count(events, partition_columns, window_minutes) %}
    {#-
        For every event of the `events` relation (or CTE name), how many events of the same
        partition_columns lie in the trailing window (occurred_at - window_minutes, occurred_at],
        itself included. Written as a self-join, portable to every engine. Returns a select of
        event_id, the partition columns, occurred_at and window_event_count.
    -#}
    {%- set on_partition = [] -%}
    {%- for column in partition_columns -%}
        {%- do on_partition.append('later.' ~ column ~ ' = earlier.' ~ column) -%}
    {%- endfor -%}
    select
        later.event_id,
        {%- for column in partition_columns %}
        later.{{ column }},
        {%- endfor %}
        later.occurred_at,
        count(*) as window_event_count
    from {{ events }} as later
    inner join {{ events }} as earlier
        on
            {{ on_partition | join('\n            and ') }}
            and earlier.occurred_at <= later.occurred_at
            and earlier.occurred_at
            > {{ dbt.dateadd('minute', -1 * window_minutes, 'later.occurred_at') }}
    group by
        later.event_id,
        {%- for column in partition_columns %}
        later.{{ column }},
        {%- endfor %}
        later.occurred_at
{% endmacro %}
