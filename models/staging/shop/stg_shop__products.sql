-- Accepted products, one row per product.
with

triaged as (
    select * from {{ ref('base_shop__products_triaged') }}
),

final as (
    select
        product_id,
        category,
        subcategory,
        brand,
        price,
        _source_file,
        _source_row
    from triaged
    where quarantine_reason is null
)

select * from final
