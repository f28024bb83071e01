{{ config(
    materialized='incremental',
    unique_key='visitor_id',
    incremental_strategy='delete+insert',
    full_refresh=false,
    tags=['incremental'],
) }}

-- The visitors whose sessions must be rebuilt, and from when: the incremental sessions
-- (int_events_sessionized, int_sessions_built) rebuild each listed visitor's events and sessions
-- from rebuild_from_at on and keep what lies before.
-- A visitor's day has changed when its events differ between the stitched events now and the
-- sessionized events stored by the last run: a new or late event, a replay that wins its key, an
-- event kept out since (consent withdrawn, deletion request) or admitted since (as_of moved on),
-- or a new person or customer (an identity merged by a login). A day is compared by its event
-- count and the sum of a 64-bit fingerprint of each event's key, lineage (file and row: the raw
-- row it was read from, so any change of content shows on DuckDB), time, person and customer.
-- The rebuild starts at that day, or at the start of the session of the visitor's last stored
-- event before it when that event lies within the session timeout of the day (a change may
-- extend that session; earlier sessions are complete).
-- Pending until consumed: rows stay until int_sessions_built has rebuilt them (its post-hook
-- empties this table), and a visitor listed again keeps the earlier start, so a failed or
-- skipped run leaves its work to the next one.
-- The stored events are read by name (int_events_sessionized reads this model, so it cannot be
-- a ref). Before that table exists, and on --full-refresh (which rebuilds the sessions whole),
-- nothing is compared; full_refresh=false keeps the pending rows of a --full-refresh that
-- leaves the sessions out.
{%- set stored = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_events_sessionized'
) %}
{%- set fingerprinted = ['event_id', 'person_id', 'customer_id', 'occurred_at',
                         '_source_file', '_source_row'] %}

with

{% if stored is not none and not flags.FULL_REFRESH %}
{#- the same day summary of the events now and of the events stored
    (the stored table is named, not a CTE: it is read twice and DuckDB would materialise a CTE) #}
{%- for side, relation in [('current', ref('int_events_permitted')), ('stored', stored)] %}
{{ side }}_days as (
    select
        visitor_id,
        occurred_date,
        count(*) as event_count,
        sum({{ row_fingerprint(fingerprinted) }}) as day_fingerprint
    from {{ relation }}
    where visitor_id is not null
    group by 1, 2
),
{% endfor %}

changed_days as (
    select
        coalesce(current_days.visitor_id, stored_days.visitor_id) as visitor_id,
        coalesce(current_days.occurred_date, stored_days.occurred_date) as occurred_date
    from current_days
    full outer join stored_days
        on
            current_days.visitor_id = stored_days.visitor_id
            and current_days.occurred_date = stored_days.occurred_date
    where
        current_days.event_count is distinct from stored_days.event_count
        or current_days.day_fingerprint is distinct from stored_days.day_fingerprint
),

first_changes as (
    select
        visitor_id,
        cast(min(occurred_date) as {{ dbt.type_timestamp() }}) as first_changed_at
    from changed_days
    group by 1
),

-- The last stored event before the first changed day: a change can extend its session only when
-- it lies within the session timeout of that day; else the rebuild starts at the day. No stored
-- event before it: no event at all before it, in either side.
changed as (
    select
        first_changes.visitor_id,
        case
            when
                {{ dbt.dateadd('minute', var('session_timeout_minutes'),
                               'max(stored_events.occurred_at)') }}
                >= min(first_changes.first_changed_at)
                then max(stored_events.session_started_at)
            else min(first_changes.first_changed_at)
        end as rebuild_from_at
    from first_changes
    left join {{ stored }} as stored_events
        on
            first_changes.visitor_id = stored_events.visitor_id
            and first_changes.first_changed_at > stored_events.occurred_at
    group by 1
)

{%- if is_incremental() %},

-- a visitor still pending from a run whose sessions were not rebuilt keeps its earlier start
pending as (
    select * from {{ this }}
),

merged as (
    select
        changed.visitor_id,
        case
            when pending.rebuild_from_at < changed.rebuild_from_at then pending.rebuild_from_at
            else changed.rebuild_from_at
        end as rebuild_from_at
    from changed
    left join pending
        on changed.visitor_id = pending.visitor_id
)

select * from merged
{%- else %}

select * from changed
{%- endif %}
{% else %}
changed as (
    select
        visitor_id,
        cast(null as {{ dbt.type_timestamp() }}) as rebuild_from_at
    from {{ ref('int_events_permitted') }}
    where 1 = 0
)

select * from changed
{% endif %}
