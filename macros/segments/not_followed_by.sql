{% macro not_followed_by(first_events, then_events, partition_column, within_minutes, horizon_at) %}
    {#-
        Events of `first_events` (e.g. add_to_cart) that no event of `then_events` (e.g. purchase)
        of the same partition_column follows within `within_minutes` (at or after the first
        event). Only first events whose waiting time has fully elapsed by `horizon_at` (an SQL
        expression, e.g. the end of as_of) are judged. Returns the rows of first_events.
    -#}
    select first_event.*
    from {{ first_events }} as first_event
    where
        {{ dbt.dateadd('minute', within_minutes, 'first_event.occurred_at') }} <= {{ horizon_at }}
        and not exists (
            select 1
            from {{ then_events }} as then_event
            where
                then_event.{{ partition_column }} = first_event.{{ partition_column }}
                and then_event.occurred_at >= first_event.occurred_at
                and then_event.occurred_at
                <= {{ dbt.dateadd('minute', within_minutes, 'first_event.occurred_at') }}
        )
{% endmacro %}
