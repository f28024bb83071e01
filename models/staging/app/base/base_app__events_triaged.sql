{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy='delete+insert',
    tags=['realtime'],
) }}

-- Every row of base_app__events with its final verdict
-- (quarantine_reason null = accepted). Incremental (delete+insert by event id): a run judges
-- again only the event ids that new files (on warehouse tables: the incremental_lookback_hours
-- window) or an earlier future_timestamp verdict touch, with all their rows, so the result
-- equals a full build (see triage_rows). Tagged realtime: the first step of the fast path.
{{ triage_rows(
    'base_app__events',
    key_columns=['event_id'],
    order_columns=['occurred_at'],
    future_columns=['occurred_at'],
    watermark_column='occurred_at'
) }}
