-- What staging did with every raw row, per raw table: accepted or quarantined (with the reason,
-- from the base_*_triaged models), and of the accepted rows those with a value outside its
-- outlier fence (stg_*__outlier_flags). The staging half of raw_row_accounting, here so that no
-- mart reads the base_* models. One row per source table, outcome and reason.
with

event_outlier_rows as (
    select distinct row_key
    from {{ ref('stg_app__outlier_flags') }}
),

shop_outlier_rows as (
    select distinct
        source_table,
        row_key,
        row_subkey
    from {{ ref('stg_shop__outlier_flags') }}
),

events as (
    select
        'events' as source_table,
        coalesce(
            triaged.quarantine_reason,
            case
                when
                    triaged.event_type_raw is null
                    or triaged.event_type_raw not in ('{{ known_event_types() | join("', '") }}')  -- noqa: LT05
                    then 'kept_as_other_event_type'
            end
        ) as reason,
        triaged.quarantine_reason is null as is_accepted,
        triaged.quarantine_reason is null and event_outlier_rows.row_key is not null as is_outlier
    from {{ ref('base_app__events_triaged') }} as triaged
    left join event_outlier_rows
        on triaged.event_id = event_outlier_rows.row_key
),

experiment_assignments as (
    select
        'experiment_assignments' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted,
        -- not fenced
        cast(null as boolean) as is_outlier
    from {{ ref('base_app__experiment_assignments_triaged') }}
),

orders as (
    select
        'orders' as source_table,
        triaged.quarantine_reason as reason,
        triaged.quarantine_reason is null as is_accepted,
        triaged.quarantine_reason is null and shop_outlier_rows.row_key is not null as is_outlier
    from {{ ref('base_shop__orders_triaged') }} as triaged
    left join shop_outlier_rows
        on
            shop_outlier_rows.source_table = 'orders'
            and triaged.order_id = shop_outlier_rows.row_key
),

order_items as (
    select
        'order_items' as source_table,
        triaged.quarantine_reason as reason,
        triaged.quarantine_reason is null as is_accepted,
        triaged.quarantine_reason is null and shop_outlier_rows.row_key is not null as is_outlier
    from {{ ref('base_shop__order_items_triaged') }} as triaged
    left join shop_outlier_rows
        on
            shop_outlier_rows.source_table = 'order_items'
            and triaged.order_id = shop_outlier_rows.row_key
            and triaged.product_id = shop_outlier_rows.row_subkey
),

products as (
    select
        'products' as source_table,
        triaged.quarantine_reason as reason,
        triaged.quarantine_reason is null as is_accepted,
        triaged.quarantine_reason is null and shop_outlier_rows.row_key is not null as is_outlier
    from {{ ref('base_shop__products_triaged') }} as triaged
    left join shop_outlier_rows
        on
            shop_outlier_rows.source_table = 'products'
            and triaged.product_id = shop_outlier_rows.row_key
),

customers as (
    select
        'customers' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted,
        -- not fenced
        cast(null as boolean) as is_outlier
    from {{ ref('base_crm__customers_triaged') }}
),

survey_responses as (
    select
        'survey_responses' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted,
        -- not fenced
        cast(null as boolean) as is_outlier
    from {{ ref('base_crm__survey_responses_triaged') }}
),

consents as (
    select
        'consents' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted,
        -- not fenced
        cast(null as boolean) as is_outlier
    from {{ ref('base_privacy__consents_triaged') }}
),

deletion_requests as (
    select
        'deletion_requests' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted,
        -- not fenced
        cast(null as boolean) as is_outlier
    from {{ ref('base_privacy__deletion_requests_triaged') }}
),

staged_rows as (
    select * from events
    union all
    select * from experiment_assignments
    union all
    select * from orders
    union all
    select * from order_items
    union all
    select * from products
    union all
    select * from customers
    union all
    select * from survey_responses
    union all
    select * from consents
    union all
    select * from deletion_requests
),

final as (
    select
        source_table,
        case when is_accepted then 'accepted' else 'quarantined' end as outcome,
        reason,
        count(*) as row_count,
        -- null for quarantined rows and for tables without fences
        cast(sum(
            case
                when is_accepted and is_outlier then 1
                when is_accepted and not is_outlier then 0
            end
        ) as {{ dbt.type_bigint() }}) as outlier_row_count
    from staged_rows
    group by 1, 2, 3
)

select * from final
