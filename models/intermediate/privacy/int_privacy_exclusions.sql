-- Every accepted staging row kept out of the downstream models, one row per row, with the
-- reason: nothing is dropped silently.
with

events as (
    select
        'events' as source_table,
        event_id as record_key,
        exclusion_reason
    from {{ ref('int_events_privacy_checked') }}
    where exclusion_reason is not null
),

orders as (
    select
        'orders' as source_table,
        order_id as record_key,
        exclusion_reason
    from {{ ref('int_orders_privacy_checked') }}
    where exclusion_reason is not null
),

order_items as (
    select
        'order_items' as source_table,
        {{ dbt.concat(['order_id', "'|'", 'product_id']) }} as record_key,
        exclusion_reason
    from {{ ref('int_order_items_privacy_checked') }}
    where exclusion_reason is not null
),

customers as (
    select
        'customers' as source_table,
        customer_id as record_key,
        exclusion_reason
    from {{ ref('int_customers_privacy_checked') }}
    where exclusion_reason is not null
),

survey_responses as (
    select
        'survey_responses' as source_table,
        {{ dbt.concat(['customer_id', "'|'", 'question', "'|'", 'answer']) }} as record_key,
        exclusion_reason
    from {{ ref('int_survey_responses_privacy_checked') }}
    where exclusion_reason is not null
),

experiment_assignments as (
    select
        'experiment_assignments' as source_table,
        {{ dbt.concat(['subject_id', "'|'", 'experiment_id']) }} as record_key,
        exclusion_reason
    from {{ ref('int_experiment_assignments_privacy_checked') }}
    where exclusion_reason is not null
),

final as (
    select * from events
    union all
    select * from orders
    union all
    select * from order_items
    union all
    select * from customers
    union all
    select * from survey_responses
    union all
    select * from experiment_assignments
)

select * from final
