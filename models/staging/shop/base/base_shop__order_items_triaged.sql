{{ config(materialized='table') }}

-- Every row of base_shop__order_items with its final verdict
-- (quarantine_reason null = accepted).
{{ triage_rows(
    'base_shop__order_items',
    key_columns=['order_id', 'product_id'],
    order_columns=[],
    future_columns=[]
) }}
