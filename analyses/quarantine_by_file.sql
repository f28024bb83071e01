-- Which raw files produce the most quarantined rows, per table and reason: where to look first
-- when fixing a feed. Compile with `dbt compile --select quarantine_by_file`.
with

events as (
    select
        'events' as source_table,
        source_file,
        reason
    from {{ ref('stg_app__events_quarantine') }}
),

orders as (
    select
        'orders' as source_table,
        source_file,
        reason
    from {{ ref('stg_shop__orders_quarantine') }}
),

customers as (
    select
        'customers' as source_table,
        source_file,
        reason
    from {{ ref('stg_crm__customers_quarantine') }}
),

quarantined as (
    select * from events
    union all
    select * from orders
    union all
    select * from customers
)

select
    source_table,
    source_file,
    reason,
    count(*) as row_count
from quarantined
group by 1, 2, 3
order by 4 desc, 1 asc, 2 asc, 3 asc
