-- Typed raw product catalogue with row-level checks.
with

source as (
    select * from {{ source('shop', 'products') }}
),

typed as (
    select
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('category', 'lower') }} as category,
        {{ clean_text('subcategory', 'lower') }} as subcategory,
        {{ clean_text('brand') }} as brand,
        {{ clean_text('price') }} as price_raw,
        {{ parse_amount('price') }} as price,
        _source_file,
        _source_row
    from source
),

final as (
    select
        *,
        case
            when product_id is null then 'missing_primary_key'
            when price_raw is not null and price is null then 'invalid_price'
            when price < 0 then 'negative_price'
        end as _invalid_reason
    from typed
)

select * from final
