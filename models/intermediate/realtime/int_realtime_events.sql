-- The real-time window: permitted events of the last realtime_recent_hours (or
-- rule_product_view_window_days, if longer) before the stream clock, with the person they
-- belong to. The stream clock (stream_clock_at) is the latest accepted event of an hour with at
-- least realtime_clock_min_hourly_events events (strays do not count), so the window
-- follows the data, not the wall clock, and events after the end of as_of (a day still filling
-- up) count here while the daily marts wait for as_of to move. The person is the identity
-- graph's person of the user id, else of the anonymous id; ids the graph has not met yet (it is
-- rebuilt by the daily build) get the person id the graph gives a single id, so the next daily
-- build keeps them unless a login merges them.
-- Strategy: a table over a bounded window, rebuilt every run. Its cost follows the window, not
-- the history, and it always equals a full build; consent withdrawals and deletions inside the
-- window take effect at once, which a delete+insert on new rows alone would miss.
{{ config(**realtime_config()) }}
{%- set window_hours = [var('realtime_recent_hours') | int,
                        (var('rule_product_view_window_days') | int) * 24] | max %}

{#- The clock, as one query: the model reads it as a CTE, and at run time it is also asked for
    first, so that the window start is written into the query as a constant too and DuckDB
    reads only the window's events instead of checking every event's privacy first. As a
    Snowflake dynamic table the constant only grows looser as the clock moves on: the CTE still
    decides. #}
{%- set clock_query %}
    select
        max(last_occurred_at) as stream_clock_at,
        {{ dbt.dateadd('hour', -1 * window_hours, 'max(last_occurred_at)') }}
            as window_start_at
    from (
        -- A stray timestamp (a device clock hours or days ahead, within the future tolerance)
        -- must not move the clock: only hours holding at least
        -- realtime_clock_min_hourly_events events count.
        select
            {{ dbt.date_trunc('hour', 'occurred_at') }} as event_hour,
            max(occurred_at) as last_occurred_at
        from {{ ref('stg_app__events') }}
        group by 1
        having count(*) >= {{ var('realtime_clock_min_hourly_events') }}
    ) as busy_hours
{%- endset %}
{%- set known_window_start = none %}
{%- if reads_real_tables([ref('stg_app__events')]) %}
{%- set known_window_start = run_query(clock_query).rows[0][1] %}
{%- endif %}

with

clock as (
    {{ clock_query }}
),

checked as (
    select * from {{ ref('int_events_privacy_checked') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

-- ids on the blocklist are never resolved (as in the identity graph)
windowed as (
    select
        checked.*,
        clock.stream_clock_at,
        case
            when lower(checked.user_id) not in (
                    {{ sql_string_list(var('identity_id_blocklist')) }}
                ) then checked.user_id
        end as linkable_user_id,
        case
            when lower(checked.anonymous_id) not in (
                    {{ sql_string_list(var('identity_id_blocklist')) }}
                ) then checked.anonymous_id
        end as linkable_anonymous_id
    from checked
    cross join clock
    where
        checked.occurred_at > clock.window_start_at
        and checked.occurred_at <= clock.stream_clock_at
        {%- if known_window_start is not none %}
        and checked.occurred_at > cast('{{ known_window_start }}' as {{ dbt.type_timestamp() }})
        {%- endif %}
        and (
            checked.exclusion_reason is null
            or checked.exclusion_reason = 'after_observation_window'
        )
),

final as (
    select
        windowed.event_id,
        windowed.visitor_id,
        coalesce(
            by_user.person_id,
            by_anonymous_id.person_id,
            {{ dbt.hash(identity_node_label('user_id', 'windowed.linkable_user_id')) }},
            {{ dbt.hash(identity_node_label('anonymous_id', 'windowed.linkable_anonymous_id')) }}
        ) as person_id,
        coalesce(
            by_user.customer_id, by_anonymous_id.customer_id, windowed.linkable_user_id
        ) as customer_id,
        windowed.event_type,
        windowed.occurred_at,
        windowed.product_id,
        windowed.category,
        windowed.device_type,
        windowed.channel,
        windowed.stream_clock_at,
        windowed._source_file
    from windowed
    left join resolved as by_user
        on
            windowed.user_id = by_user.id_value
            and by_user.id_type = 'user_id'
    left join resolved as by_anonymous_id
        on
            windowed.anonymous_id = by_anonymous_id.id_value
            and by_anonymous_id.id_type = 'anonymous_id'
)

select * from final
