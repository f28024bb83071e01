{{ config(materialized='table') }}

-- Every row of base_app__experiment_assignments with its final verdict
-- (quarantine_reason null = accepted).
{{ triage_rows(
    'base_app__experiment_assignments',
    key_columns=['subject_id', 'experiment_id'],
    order_columns=['assigned_at'],
    future_columns=['assigned_at']
) }}
