-- How many accepted staging rows are kept out of the downstream models, per table, purpose and
-- reason: nothing is dropped silently, and nothing about a kept-out row is kept but its count
-- (rows of deleted persons leave no key behind). purpose is the consent purpose that keeps the
-- rows out ('analytics'), 'deletion' for a deletion request, null for the observation window and
-- for order lines without a permitted order.
-- One row per source_table, purpose and exclusion_reason.
{%- set deleted_by = [
    ('customers', 'stg_crm__customers', 'customer_id'),
    ('survey_responses', 'stg_crm__survey_responses', 'customer_id'),
    ('experiment_assignments', 'stg_app__experiment_assignments', 'subject_id'),
] %}
{%- set checked_models = [
    ('events', 'int_events_privacy_checked'),
    ('events', 'int_events_consent_checked'),
    ('orders', 'int_orders_privacy_checked'),
    ('order_items', 'int_order_items_privacy_checked'),
    ('customers', 'int_customers_privacy_checked'),
    ('survey_responses', 'int_survey_responses_privacy_checked'),
    ('experiment_assignments', 'int_experiment_assignments_privacy_checked'),
] %}
with

-- rows of deleted subjects: the privacy checks drop them, so they are counted from staging
deleted_rows as (
    select
        'events' as source_table,
        count(*) as row_count
    from {{ ref('stg_app__events') }}
    where
        coalesce({{ is_deleted_subject('anonymous_id') }}, false)
        or coalesce({{ is_deleted_subject('user_id') }}, false)
    union all
    select
        'orders' as source_table,
        count(*) as row_count
    from {{ ref('stg_shop__orders') }}
    where coalesce({{ is_deleted_subject('customer_id') }}, false)
    union all
    select
        'order_items' as source_table,
        count(*) as row_count
    from {{ ref('stg_shop__order_items') }} as order_items
    inner join {{ ref('stg_shop__orders') }} as orders
        on order_items.order_id = orders.order_id
    where coalesce({{ is_deleted_subject('orders.customer_id') }}, false)
    {%- for source_table, model, id_column in deleted_by %}
    union all
    select
        '{{ source_table }}' as source_table,
        count(*) as row_count
    from {{ ref(model) }}
    where coalesce({{ is_deleted_subject(id_column) }}, false)
    {%- endfor %}
),

checked_rows as (
    {%- for source_table, model in checked_models %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        '{{ source_table }}' as source_table,
        exclusion_reason
    from {{ ref(model) }}
    where exclusion_reason is not null
    {%- endfor %}
),

counted as (
    select
        source_table,
        'deletion' as purpose,
        'deletion_request' as exclusion_reason,
        row_count
    from deleted_rows
    where row_count > 0
    union all
    select
        source_table,
        case
            when exclusion_reason in (
                    'analytics_consent_refused_by_person', 'region_default_refused',
                    'no_analytics_consent'
                ) then 'analytics'
        end as purpose,
        exclusion_reason,
        count(*) as row_count
    from checked_rows
    group by 1, 2, 3
),

final as (
    select
        source_table,
        purpose,
        exclusion_reason,
        cast(sum(row_count) as {{ dbt.type_bigint() }}) as row_count
    from counted
    group by 1, 2, 3
)

select * from final
