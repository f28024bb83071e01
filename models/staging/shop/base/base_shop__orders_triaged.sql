{{ config(materialized='table') }}

-- Every row of base_shop__orders with its final verdict
-- (quarantine_reason null = accepted).
{{ triage_rows(
    'base_shop__orders',
    key_columns=['order_id'],
    order_columns=['ordered_at'],
    future_columns=['ordered_at']
) }}
