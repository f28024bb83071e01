-- Rows of the raw orders table that staging rejected:
-- one row per rejected raw row, with the reason.
with

triaged as (
    select * from {{ ref('base_shop__orders_triaged') }}
),

final as (
    select
        _source_file as source_file,
        _source_row as source_row,
        quarantine_reason as reason,
        order_id,
        customer_id,
        ordered_at_raw,
        ordered_at,
        status,
        total_amount_raw,
        total_amount
    from triaged
    where quarantine_reason is not null
)

select * from final
