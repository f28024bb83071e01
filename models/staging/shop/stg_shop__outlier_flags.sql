{{ config(materialized='table') }}

-- One row per accepted shop value outside its fence (stg_shop__outlier_fences): the table, the
-- row's key, the column, the value and the fences it is outside of. The rows themselves stay
-- accepted in stg_shop__orders, stg_shop__order_items and stg_shop__products.
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

fences as (
    select * from {{ ref('stg_shop__outlier_fences') }}
),

order_lines as (
    select
        order_items.*,
        coalesce(orders.currency, '(no accepted order)') as order_currency
    from order_items
    left join orders
        on order_items.order_id = orders.order_id
),

final as (
    {{ outlier_flag_rows('orders', 'orders', 'total_amount', 'order_id', 'currency') }}
    union all
    {{ outlier_flag_rows('order_lines', 'order_items', 'quantity', 'order_id',
                         subkey_column='product_id') }}
    union all
    {{ outlier_flag_rows('order_lines', 'order_items', 'unit_price', 'order_id', 'order_currency',
                         subkey_column='product_id') }}
    union all
    {{ outlier_flag_rows('products', 'products', 'price', 'product_id') }}
)

select * from final
