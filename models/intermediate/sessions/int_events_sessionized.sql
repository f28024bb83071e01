-- Stitched events with their session (data contract section 4): a visitor's events ordered by
-- occurred_at then event_id; a session starts at the visitor's first event and whenever the gap
-- since the previous event is strictly greater than var('session_timeout_minutes') (a gap of
-- exactly the timeout stays in the session). One row per event_id.
-- Incremental by visitor: a visitor's sessions depend on its own events alone, so a run rebuilds
-- the visitors of int_events_visitors_changed from their rebuild_from_at on (where their first
-- change may land). The pre-hook deletes their stored rows from then on; the rows they keep end
-- with a complete session, whose last event and number carry the new rows on (kept_events), and
-- every other visitor keeps its rows.
-- A session that spans the previous run's boundary, or takes a late event, is rebuilt whole.
-- The earliest rebuild_from_at is also written into the query as a constant, so DuckDB reads
-- only the events from then on instead of the whole history.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_visitors('occurred_at') }}",
    tags=['incremental'],
) }}
{%- set changed_relation = ref('int_events_visitors_changed') %}
{%- set read_from = {'none': false, 'at': none} %}
{%- if is_incremental() and reads_real_tables([changed_relation]) %}
{%- set bounds = run_query(
    "select count(*), min(rebuild_from_at) from " ~ changed_relation).rows[0] %}
{%- do read_from.update({'none': bounds[0] == 0, 'at': bounds[1]}) %}
{%- endif %}

with

{% if is_incremental() %}
changed_visitors as (
    select * from {{ changed_relation }}
),

-- what each rebuilt visitor keeps after the pre-hook: its last event and its session count
kept_events as (
    select
        visitor_id,
        max(occurred_at) as previous_occurred_at,
        max(visitor_session_number) as kept_session_count
    from {{ this }}
    where visitor_id in (select changed_visitors.visitor_id from changed_visitors)
    group by 1
),

events as (
    select stitched.*
    from {{ ref('int_events_permitted') }} as stitched
    inner join changed_visitors
        on stitched.visitor_id = changed_visitors.visitor_id
    where
        stitched.occurred_at >= changed_visitors.rebuild_from_at
        {%- if read_from['none'] %}
        and 1 = 0
        {%- elif read_from['at'] is not none %}
        and stitched.occurred_at
        >= cast('{{ read_from["at"] }}' as {{ dbt.type_timestamp() }})
        {%- endif %}
),
{% else %}
kept_events as (
    select
        visitor_id,
        cast(null as {{ dbt.type_timestamp() }}) as previous_occurred_at,
        0 as kept_session_count
    from {{ ref('int_events_permitted') }}
    where 1 = 0
),

events as (
    select * from {{ ref('int_events_permitted') }}
    where visitor_id is not null
),
{% endif %}

-- Two window passes over one ordering (visitor, occurred_at, event_id): the first finds each
-- event's predecessor and position, the second numbers the sessions and carries each session's
-- first event forward. The first event of a rebuilt visitor always starts a session (the kept
-- rows end with a complete session), so the carried values never need the kept rows.
{%- set visitor_order = 'partition by events.visitor_id'
    ~ ' order by events.occurred_at, events.event_id' %}
{%- set visitor_so_far = 'partition by visitor_id order by occurred_at, event_id'
    ~ ' rows between unbounded preceding and current row' %}
with_previous as (
    select
        events.*,
        coalesce(
            lag(events.occurred_at) over ({{ visitor_order }}),
            kept_events.previous_occurred_at
        ) as previous_occurred_at,
        row_number() over ({{ visitor_order }}) as _visitor_event_number,
        coalesce(kept_events.kept_session_count, 0) as _kept_session_count
    from events
    left join kept_events
        on events.visitor_id = kept_events.visitor_id
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
        _kept_session_count + sum(is_session_start) over ({{ visitor_so_far }})
            as visitor_session_number,
        max(case when is_session_start = 1 then occurred_at end)
            over ({{ visitor_so_far }}) as session_started_at,
        max(case when is_session_start = 1 then _visitor_event_number end)
            over ({{ visitor_so_far }}) as _session_first_event_number
    from flagged
),

final as (
    select
        * exclude (_visitor_event_number, _kept_session_count, _session_first_event_number),
        _visitor_event_number - _session_first_event_number + 1 as event_number_in_session
    from numbered
)

{%- set session_start_text = dbt.cast('session_started_at', dbt.type_string()) %}

select
    {{ dbt.hash(dbt.concat(['visitor_id', "'|'", session_start_text])) }} as session_id,
    *
from final
