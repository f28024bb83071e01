{{ config(materialized='table') }}

-- One row per accepted shop value outside its fence (stg_shop__outlier_fences): the table, the
-- row's key, the column, the value and the fences it is outside of. The rows themselves stay
-- accepted in stg_shop__orders, stg_shop__order_items and stg_shop__products.
{{ outlier_flags(ref('stg_shop__outlier_measurements'), ref('stg_shop__outlier_fences')) }}
