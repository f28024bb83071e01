-- One row per accepted shop row and fenced numeric column: the value outlier fences judge, the
-- group its fence is computed within and the scale it is computed on (see outlier_fences).
-- Money is fenced per currency (an order line in the currency of its order), counts and list
-- prices over the whole table; all of them on the log1p scale (positive, right-skewed).
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

order_totals as (
    select
        'orders' as source_table,
        'total_amount' as column_name,
        order_id as row_key,
        cast(null as {{ dbt.type_string() }}) as row_subkey,
        currency as value_group,
        'log1p' as fence_scale,
        cast(total_amount as double precision) as measured_value,
        _source_file,
        _source_row
    from orders
),

order_lines as (
    select
        order_items.order_id,
        order_items.product_id,
        order_items.quantity,
        order_items.unit_price,
        order_items._source_file,
        order_items._source_row,
        -- a line whose order was not accepted has no currency to be compared within
        coalesce(orders.currency, '(no accepted order)') as order_currency
    from order_items
    left join orders
        on order_items.order_id = orders.order_id
),

line_quantities as (
    select
        'order_items' as source_table,
        'quantity' as column_name,
        order_id as row_key,
        product_id as row_subkey,
        'all' as value_group,
        'log1p' as fence_scale,
        cast(quantity as double precision) as measured_value,
        _source_file,
        _source_row
    from order_lines
),

line_unit_prices as (
    select
        'order_items' as source_table,
        'unit_price' as column_name,
        order_id as row_key,
        product_id as row_subkey,
        order_currency as value_group,
        'log1p' as fence_scale,
        cast(unit_price as double precision) as measured_value,
        _source_file,
        _source_row
    from order_lines
),

product_prices as (
    select
        'products' as source_table,
        'price' as column_name,
        product_id as row_key,
        cast(null as {{ dbt.type_string() }}) as row_subkey,
        'all' as value_group,
        'log1p' as fence_scale,
        cast(price as double precision) as measured_value,
        _source_file,
        _source_row
    from products
),

final as (
    select * from order_totals
    union all
    select * from line_quantities
    union all
    select * from line_unit_prices
    union all
    select * from product_prices
)

select * from final
