{{ config(materialized='table') }}

-- Every row of base_shop__products with its final verdict
-- (quarantine_reason null = accepted).
{{ triage_rows(
    'base_shop__products',
    key_columns=['product_id'],
    order_columns=[],
    future_columns=[]
) }}
