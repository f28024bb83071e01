{{ config(materialized='table', tags=['realtime']) }}

-- Every row of base_privacy__deletion_requests with its final verdict
-- (quarantine_reason null = accepted).
-- Deletion requests are never quarantined for a future timestamp: they must be honoured.
{{ triage_rows(
    'base_privacy__deletion_requests',
    key_columns=['subject_id'],
    order_columns=['requested_at'],
    future_columns=[]
) }}
