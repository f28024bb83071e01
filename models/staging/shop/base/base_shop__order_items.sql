-- Typed raw order lines with row-level checks.
with

source as (
    select * from {{ source('shop', 'order_items') }}
),

typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('quantity') }} as quantity_raw,
        {{ dbt.safe_cast('trim(quantity)', dbt.type_bigint()) }} as quantity,
        {{ clean_text('unit_price') }} as unit_price_raw,
        {{ parse_amount('unit_price') }} as unit_price,
        _source_file,
        _source_row
    from source
),

final as (
    select
        *,
        case
            when order_id is null or product_id is null then 'missing_primary_key'
            when quantity is null then 'invalid_quantity'
            when quantity < 0 then 'negative_quantity'
            when unit_price is null then 'invalid_price'
            when unit_price < 0 then 'negative_price'
        end as _invalid_reason
    from typed
)

select * from final
