-- Identity graph resolved into persons: every user id and anonymous id (from events, customers
-- and orders) with the person it belongs to. Accepted links (a device and a user seen on one
-- event; two CRM records sharing an e-mail or phone key, or a reviewed merge:
-- int_identity_customer_links) form an undirected graph whose
-- connected components are found by min-label propagation (var identity_max_hops rounds; a data
-- test proves convergence), so chains such as device A - user - device B collapse to one person
-- in a single build. Components with more ids than identity_max_ids_per_person are not merged:
-- their ids stay separate persons and the links are reported as rejected.
-- One row per id_type and id_value.
{%- set hops = var('identity_max_hops') | int %}

with

links as (
    select * from {{ ref('int_identity_links') }}
),

customer_links as (
    select * from {{ ref('int_identity_customer_links') }}
    where rejection_reason is null
),

-- before consent: a decision on one id covers the person its links make
events as (
    select * from {{ ref('int_events_privacy_checked') }}
    where exclusion_reason is null
),

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

orders as (
    select * from {{ ref('int_orders_permitted') }}
),

-- Labels order users before anonymous ids, so a person's label is its smallest user id.
all_nodes as (
    select distinct
        'user_id' as id_type,
        user_id as id_value,
        {{ identity_node_label('user_id', 'user_id') }} as node_label
    from events
    where user_id is not null
    union
    select distinct
        'anonymous_id' as id_type,
        anonymous_id as id_value,
        {{ identity_node_label('anonymous_id', 'anonymous_id') }} as node_label
    from events
    where anonymous_id is not null
    union
    select distinct
        'user_id' as id_type,
        customer_id as id_value,
        {{ identity_node_label('user_id', 'customer_id') }} as node_label
    from customers
    union
    select distinct
        'user_id' as id_type,
        customer_id as id_value,
        {{ identity_node_label('user_id', 'customer_id') }} as node_label
    from orders
    where customer_id is not null
),

nodes as (
    select * from all_nodes
    where lower(id_value) not in ({{ sql_string_list(var('identity_id_blocklist')) }})
),

edges as (
    select
        {{ identity_node_label('anonymous_id', 'anonymous_id') }} as node_a,
        {{ identity_node_label('user_id', 'user_id') }} as node_b
    from links
    where rejection_reason is null
    union all
    select
        {{ identity_node_label('user_id', 'customer_id') }} as node_a,
        {{ identity_node_label('user_id', 'linked_customer_id') }} as node_b
    from customer_links
),

-- Both directions of every accepted link, plus a self-loop per node, so that one join per round
-- gives each node the smallest label among itself and its neighbours.
neighbourhood as (
    select
        node_a as from_node,
        node_b as to_node
    from edges
    union all
    select
        node_b as from_node,
        node_a as to_node
    from edges
    union all
    select
        node_label as from_node,
        node_label as to_node
    from nodes
),

labels_0 as (
    select
        node_label as graph_node,
        node_label as component_label
    from nodes
),
-- noqa: disable=LT02
{% for hop in range(1, hops + 1) %}
labels_{{ hop }} as (
    select
        neighbourhood.from_node as graph_node,
        min(labels_{{ hop - 1 }}.component_label) as component_label
    from neighbourhood
    inner join labels_{{ hop - 1 }}
        on neighbourhood.to_node = labels_{{ hop - 1 }}.graph_node
    group by neighbourhood.from_node
),
{% endfor %}
-- noqa: enable=LT02

components as (
    select
        graph_node,
        component_label,
        count(*) over (partition by component_label) as component_size
    from labels_{{ hops }}
),

final as (
    select
        nodes.id_type,
        nodes.id_value,
        components.component_size > {{ var('identity_max_ids_per_person') }}
            as is_in_oversized_cluster,
        case
            when components.component_size > {{ var('identity_max_ids_per_person') }}
                then nodes.node_label
            else components.component_label
        end as person_label
    from nodes
    inner join components
        on nodes.node_label = components.graph_node
)

select
    id_type,
    id_value,
    {{ dbt.hash('person_label') }} as person_id,
    case when person_label like '0%' then substr(person_label, 2) end as customer_id,
    is_in_oversized_cluster
from final
