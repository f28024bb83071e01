{{ config(materialized='table', tags=['realtime']) }}

-- Every row of base_privacy__consents with its final verdict
-- (quarantine_reason null = accepted). Decisions of one subject and purpose at the same instant
-- share a key: the refusal is kept (false sorts first) and the grant is its duplicate, so a
-- refusal wins a tie, as int_consents_resolved promises, whatever the file order.
{{ triage_rows(
    'base_privacy__consents',
    key_columns=['subject_id', 'purpose', 'recorded_at'],
    order_columns=['recorded_at', 'is_granted'],
    future_columns=['recorded_at']
) }}
