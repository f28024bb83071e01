-- Stitched events with their session (data contract section 4): a visitor's events ordered by
-- occurred_at then event_id; a session starts at the visitor's first event and whenever the gap
-- since the previous event is strictly greater than var('session_timeout_minutes') (a gap of
-- exactly the timeout stays in the session). One row per event_id.
-- Incremental by visitor: a visitor's sessions depend on its own events alone, so a run rebuilds
-- whole the visitors of int_events_visitors_changed (every event they have now; the pre-hook
-- deletes their stored rows first) and keeps every other visitor's rows. A session that spans
-- the previous run's boundary, or a late event inside it, is rebuilt with all its events.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_visitors() }}",
    tags=['incremental'],
) }}

-- depends_on: {{ ref('int_events_visitors_changed') }}

with

events as (
    select * from {{ ref('int_events_stitched') }}
    where
        visitor_id is not null
        {%- if is_incremental() %}
        and visitor_id in (select visitor_id from {{ ref('int_events_visitors_changed') }})
        {%- endif %}
),

with_previous as (
    select
        *,
        lag(occurred_at) over (
            partition by visitor_id
            order by occurred_at, event_id
        ) as previous_occurred_at
    from events
),

flagged as (
    select
        *,
        case
            when previous_occurred_at is null then 1
            when occurred_at > {{ dbt.dateadd(
                'minute', var('session_timeout_minutes'), 'previous_occurred_at'
            ) }} then 1
            else 0
        end as is_session_start
    from with_previous
),

numbered as (
    select
        *,
        sum(is_session_start) over (
            partition by visitor_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as visitor_session_number
    from flagged
),

final as (
    select
        *,
        min(occurred_at) over (
            partition by visitor_id, visitor_session_number
        ) as session_started_at,
        row_number() over (
            partition by visitor_id, visitor_session_number
            order by occurred_at, event_id
        ) as event_number_in_session
    from numbered
)

{%- set session_start_text = dbt.cast('session_started_at', dbt.type_string()) %}

select
    {{ dbt.hash(dbt.concat(['visitor_id', "'|'", session_start_text])) }} as session_id,
    *
from final
