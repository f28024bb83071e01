{{ config(materialized='table') }}

-- Every row of base_privacy__consents with its final verdict
-- (quarantine_reason null = accepted).
{{ triage_rows(
    'base_privacy__consents',
    key_columns=['subject_id', 'purpose', 'recorded_at'],
    order_columns=['recorded_at'],
    future_columns=['recorded_at']
) }}
