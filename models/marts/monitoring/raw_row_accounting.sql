-- Where every raw row went, per raw table: accepted by staging, quarantined (with reason), and
-- of the accepted rows, which were kept out downstream, for which purpose (analytics consent,
-- deletion) and reason, or for the observation window.
-- One row per source table, stage, outcome and reason. Rows in = accepted + quarantined.
with

events as (
    select
        'events' as source_table,
        coalesce(
            quarantine_reason,
            case
                when
                    event_type_raw is null
                    or event_type_raw not in ('{{ known_event_types() | join("', '") }}')  -- noqa: LT05
                    then 'kept_as_other_event_type'
            end
        ) as reason,
        quarantine_reason is null as is_accepted
    from {{ ref('base_app__events_triaged') }}
),

experiment_assignments as (
    select
        'experiment_assignments' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted
    from {{ ref('base_app__experiment_assignments_triaged') }}
),

orders as (
    select
        'orders' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted
    from {{ ref('base_shop__orders_triaged') }}
),

order_items as (
    select
        'order_items' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted
    from {{ ref('base_shop__order_items_triaged') }}
),

products as (
    select
        'products' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted
    from {{ ref('base_shop__products_triaged') }}
),

customers as (
    select
        'customers' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted
    from {{ ref('base_crm__customers_triaged') }}
),

survey_responses as (
    select
        'survey_responses' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted
    from {{ ref('base_crm__survey_responses_triaged') }}
),

consents as (
    select
        'consents' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted
    from {{ ref('base_privacy__consents_triaged') }}
),

deletion_requests as (
    select
        'deletion_requests' as source_table,
        quarantine_reason as reason,
        quarantine_reason is null as is_accepted
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

staging_outcomes as (
    select
        source_table,
        'staging' as pipeline_stage,
        case when is_accepted then 'accepted' else 'quarantined' end as outcome,
        cast(null as {{ dbt.type_string() }}) as purpose,
        reason,
        count(*) as row_count
    from staged_rows
    group by 1, 2, 3, 4, 5
),

downstream_outcomes as (
    select
        source_table,
        'downstream' as pipeline_stage,
        'excluded' as outcome,
        purpose,
        exclusion_reason as reason,
        row_count
    from {{ ref('int_privacy_exclusions') }}
),

final as (
    select * from staging_outcomes
    union all
    select * from downstream_outcomes
)

select * from final
