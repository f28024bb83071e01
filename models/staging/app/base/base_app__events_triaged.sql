{{ config(materialized='table') }}

-- Every row of base_app__events with its final verdict
-- (quarantine_reason null = accepted).
{{ triage_rows(
    'base_app__events',
    key_columns=['event_id'],
    order_columns=['occurred_at'],
    future_columns=['occurred_at']
) }}
