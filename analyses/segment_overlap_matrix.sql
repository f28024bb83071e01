-- How rule segments overlap: for each pair of rule flags, the persons in both, and that count
-- as a share of the first segment. Compile with `dbt compile --select segment_overlap_matrix`.
with

segments as (
    select * from {{ ref('customer_rule_segments') }}
),

-- noqa: disable=LT02
memberships as (
    {%- for rule in ['high_value_cart_abandoner', 'cart_abandoner', 'high_intent_product_viewer',
                     'recent_high_value_buyer', 'lapsed_customer', 'new_visitor',
                     'discount_driven_buyer', 'late_night_mobile_shopper', 'browser_never_buys',
                     'rapid_product_browser', 'category_enthusiast', 'highly_engaged'] %}
    select
        person_id,
        '{{ rule }}' as segment_name
    from segments
    where is_{{ rule }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
-- noqa: enable=LT02

pairs as (
    select
        first_segment.segment_name as segment_a,
        second_segment.segment_name as segment_b,
        count(*) as persons_in_both
    from memberships as first_segment
    inner join memberships as second_segment
        on first_segment.person_id = second_segment.person_id
    group by 1, 2
),

sizes as (
    select
        segment_name,
        count(*) as persons
    from memberships
    group by 1
)

select
    pairs.segment_a,
    pairs.segment_b,
    pairs.persons_in_both,
    round(1.0 * pairs.persons_in_both / sizes.persons, 3) as share_of_segment_a
from pairs
inner join sizes
    on pairs.segment_a = sizes.segment_name
order by 1, 2
