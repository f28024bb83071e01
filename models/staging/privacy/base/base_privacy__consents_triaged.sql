{{ config(materialized='table') }}

-- Every row of base_privacy__consents with its final verdict
-- (quarantine_reason null = accepted).
-- Privacy decisions are never quarantined for a future timestamp: a revocation must apply.
{{ triage_rows(
    'base_privacy__consents',
    key_columns=['subject_id', 'purpose', 'recorded_at'],
    order_columns=[],
    future_columns=[]
) }}
