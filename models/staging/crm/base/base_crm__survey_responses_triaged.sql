{{ config(materialized='table') }}

-- Every row of base_crm__survey_responses with its final verdict
-- (quarantine_reason null = accepted).
{{ triage_rows(
    'base_crm__survey_responses',
    key_columns=['customer_id', 'question', 'answer'],
    order_columns=['responded_at'],
    future_columns=['responded_at']
) }}
