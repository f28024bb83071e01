-- Where every raw row went, per raw table: accepted by staging, quarantined (with reason), and
-- of the accepted rows, which were kept out downstream for privacy or the observation window.
-- One row per source table, stage, outcome and reason. Rows in = accepted + quarantined.
{% set tables = [
    ('events', 'base_app__events_triaged'),
    ('experiment_assignments', 'base_app__experiment_assignments_triaged'),
    ('orders', 'base_shop__orders_triaged'),
    ('order_items', 'base_shop__order_items_triaged'),
    ('products', 'base_shop__products_triaged'),
    ('customers', 'base_crm__customers_triaged'),
    ('survey_responses', 'base_crm__survey_responses_triaged'),
    ('consents', 'base_privacy__consents_triaged'),
    ('deletion_requests', 'base_privacy__deletion_requests_triaged'),
] %}

with

{% for table_name, model in tables -%}
{{ table_name }}_staging as (
    select
        '{{ table_name }}' as source_table,
        'staging' as stage,
        case when quarantine_reason is null then 'accepted' else 'quarantined' end as outcome,
        {%- if table_name == 'events' %}
        coalesce(
            quarantine_reason,
            case
                when event_type_raw is null
                    or event_type_raw not in ('{{ known_event_types() | join("', '") }}')
                    then 'kept_as_other_event_type'
            end
        ) as reason,
        {%- else %}
        quarantine_reason as reason,
        {%- endif %}
        count(*) as row_count
    from {{ ref(model) }}
    group by 1, 2, 3, 4
),

{% endfor -%}

privacy as (
    select
        source_table,
        'downstream' as stage,
        'excluded' as outcome,
        exclusion_reason as reason,
        count(*) as row_count
    from {{ ref('int_privacy_exclusions') }}
    group by 1, 2, 3, 4
),

final as (
    {%- for table_name, model in tables %}
    select * from {{ table_name }}_staging
    union all
    {%- endfor %}
    select * from privacy
)

select * from final
