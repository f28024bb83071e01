{{ config(materialized='table') }}

-- Every row of base_crm__customers with its final verdict
-- (quarantine_reason null = accepted).
{{ triage_rows(
    'base_crm__customers',
    key_columns=['customer_id'],
    order_columns=['signup_at'],
    future_columns=['signup_at']
) }}
