{{ config(materialized='table') }}

-- Outlier fences of the shop's numeric columns over every accepted row, one row per table,
-- column and value group, with the group's profile: order totals per currency, order-line
-- quantities over all lines and unit prices per currency of the line's order, product list
-- prices over all products, all on the log1p scale (positive, right-skewed). Tukey fences with
-- var('outlier_iqr_factor'), judged only for groups of at least var('outlier_min_group_values')
-- values (see outlier_fences). Flagged rows stay in staging: they may be real.
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

order_lines as (
    select
        order_items.*,
        -- a line whose order was not accepted has no currency to be compared within
        coalesce(orders.currency, '(no accepted order)') as order_currency
    from order_items
    left join orders
        on order_items.order_id = orders.order_id
),

quartiles as (
    {{ outlier_quartiles('orders', 'orders', 'total_amount', 'log1p', 'currency') }}
    union all
    {{ outlier_quartiles('order_lines', 'order_items', 'quantity', 'log1p') }}
    union all
    {{ outlier_quartiles('order_lines', 'order_items', 'unit_price', 'log1p', 'order_currency') }}
    union all
    {{ outlier_quartiles('products', 'products', 'price', 'log1p') }}
),

final as (
    {{ outlier_fences('quartiles') }}
)

select * from final
