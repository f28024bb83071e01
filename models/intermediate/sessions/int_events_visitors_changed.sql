{{ config(
    materialized='incremental',
    unique_key='visitor_id',
    incremental_strategy='delete+insert',
    full_refresh=false,
    tags=['incremental'],
) }}

-- The visitors whose sessions must be rebuilt: the incremental sessions (int_events_sessionized,
-- int_sessions_built) rebuild exactly these visitors' events and sessions, whole. A visitor is
-- here when any of its events differs between the stitched events now and the sessionized
-- events stored by the last run: a new or late event, a replay that wins its key, an event kept
-- out since (consent withdrawn, deletion request), an event admitted since (as_of moved on), or
-- a new person or customer (an identity merged by a login). An event is compared by its key, its
-- lineage (file and row: the raw row it was read from), its time and its person and customer, so
-- on file lineage (DuckDB) any change of its content is caught; warehouse tables have no row
-- lineage, there a replay that differs in content only but ties on time is not.
-- Pending until consumed: rows stay until int_sessions_built has rebuilt them (its post-hook
-- empties this table), so a failed or skipped run leaves its visitors for the next one.
-- The stored events are read by name (int_events_sessionized reads this model, so it cannot be
-- a ref). Before that table exists, and on --full-refresh (which rebuilds the sessions whole),
-- nothing is compared; full_refresh=false keeps the pending rows of a --full-refresh that
-- leaves the sessions out.
{%- set stored = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_events_sessionized'
) %}
{%- set compared_columns = ['visitor_id', 'person_id', 'customer_id', 'occurred_at',
                            '_source_file', '_source_row'] %}

with

{% if stored is not none and not flags.FULL_REFRESH %}
current_events as (
    select
        event_id,
        {{ compared_columns | join(',\n        ') }}
    from {{ ref('int_events_stitched') }}
    where visitor_id is not null
),

stored_events as (
    select
        event_id,
        {{ compared_columns | join(',\n        ') }}
    from {{ stored }}
),

compared as (
    select
        current_events.visitor_id as current_visitor_id,
        stored_events.visitor_id as stored_visitor_id
    from current_events
    full outer join stored_events
        on current_events.event_id = stored_events.event_id
    where
        current_events.event_id is null
        or stored_events.event_id is null
        {%- for column in compared_columns %}
        or current_events.{{ column }} is distinct from stored_events.{{ column }}
        {%- endfor %}
),

changed as (
    select current_visitor_id as visitor_id
    from compared
    where current_visitor_id is not null
    union
    select stored_visitor_id as visitor_id
    from compared
    where stored_visitor_id is not null
)
{% else %}
changed as (
    select visitor_id
    from {{ ref('int_events_stitched') }}
    where 1 = 0
)
{% endif %}

select visitor_id from changed
