-- Every accepted staging row kept out of the downstream models, one row per row, with the
-- reason: nothing is dropped silently.
with

{% set checked_models = [
    ('events', 'int_events_privacy_checked', 'event_id'),
    ('orders', 'int_orders_privacy_checked', 'order_id'),
    ('order_items', 'int_order_items_privacy_checked', "order_id || '|' || product_id"),
    ('customers', 'int_customers_privacy_checked', 'customer_id'),
    ('survey_responses', 'int_survey_responses_privacy_checked', "customer_id || '|' || question || '|' || answer"),
    ('experiment_assignments', 'int_experiment_assignments_privacy_checked', "subject_id || '|' || experiment_id"),
] %}

{%- for table_name, model, key in checked_models %}
{{ table_name }} as (
    select
        '{{ table_name }}' as source_table,
        {{ key }} as record_key,
        exclusion_reason
    from {{ ref(model) }}
    where exclusion_reason is not null
),
{% endfor %}

final as (
    {%- for table_name, model, key in checked_models %}
    select * from {{ table_name }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from final
