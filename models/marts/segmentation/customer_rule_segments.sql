-- Rule-based segments, one row per person: a boolean per rule (thresholds in vars), the primary
-- segment (the flagged rule with the best priority in the segment_catalog seed), its broad
-- parent segment, and the reason it fired. Persons no rule applies to are 'general_audience'.
with

signals as (
    select * from {{ ref('int_person_rule_signals') }}
),

catalog as (
    select * from {{ ref('segment_catalog') }}
    where segment_family = 'rule'
),

flags as (
    select
        person_id,
        top_viewed_category,
        recent_abandoned_cart_value > {{ var('rule_cart_min_value') }}
            as is_high_value_cart_abandoner,
        abandoned_cart_add_count > 0 as is_cart_abandoner,
        max_same_product_views > {{ var('rule_product_view_min_count') }}
            as is_high_intent_product_viewer,
        max_recent_order_amount >= {{ var('rule_high_value_order_amount') }}
            as is_recent_high_value_buyer,
        completed_order_count > 0
        and last_order_at < {{ dbt.dateadd('day', -1 * var('rule_lapsed_after_days'),
                                          'observation_end_at') }} as is_lapsed_customer,
        first_seen_at >= {{ dbt.dateadd('day', -1 * var('rule_new_visitor_days'),
                                       'observation_end_at') }} as is_new_visitor,
        converting_sessions > 0
        and discount_converting_sessions
        >= {{ var('rule_discount_min_share') }} * converting_sessions as is_discount_driven_buyer,
        late_night_mobile_sessions >= {{ var('rule_late_night_min_sessions') }}
        and late_night_mobile_sessions
        >= {{ var('rule_late_night_min_share') }} * recent_session_count
            as is_late_night_mobile_shopper,
        recent_session_count >= {{ var('rule_browser_min_sessions') }}
        and completed_order_count = 0 as is_browser_never_buys,
        max_product_views_in_burst_window > {{ var('rule_browse_burst_min_count') }}
            as is_rapid_product_browser,
        top_category_view_count > {{ var('rule_category_view_min_count') }}
            as is_category_enthusiast,
        max_session_seconds > {{ var('rule_engaged_session_seconds') }}
        or max_scroll_depth_pct > {{ var('rule_engaged_scroll_pct') }} as is_highly_engaged,
        max_same_product_views,
        recent_abandoned_cart_value,
        abandoned_cart_add_count,
        max_recent_order_amount,
        last_order_at,
        first_seen_at,
        discount_converting_sessions,
        converting_sessions,
        late_night_mobile_sessions,
        recent_session_count,
        max_product_views_in_burst_window,
        top_category_view_count,
        max_session_seconds,
        max_scroll_depth_pct
    from signals
),

{% set rules = [
    ('high_value_cart_abandoner', "'abandoned items worth ' || cast(recent_abandoned_cart_value as varchar) || ' in the last ' || '" ~ var('rule_cart_recent_hours') ~ "' || ' hours'"),
    ('cart_abandoner', "cast(abandoned_cart_add_count as varchar) || ' cart adds without a purchase within ' || '" ~ var('rule_cart_purchase_window_minutes') ~ "' || ' minutes'"),
    ('high_intent_product_viewer', "'same product viewed ' || cast(max_same_product_views as varchar) || ' times within ' || '" ~ var('rule_product_view_window_days') ~ "' || ' days'"),
    ('recent_high_value_buyer', "'order of ' || cast(max_recent_order_amount as varchar) || ' in the last ' || '" ~ var('rule_high_value_order_days') ~ "' || ' days'"),
    ('lapsed_customer', "'last order on ' || cast(cast(last_order_at as date) as varchar)"),
    ('new_visitor', "'first seen on ' || cast(cast(first_seen_at as date) as varchar)"),
    ('discount_driven_buyer', "cast(discount_converting_sessions as varchar) || ' of ' || cast(converting_sessions as varchar) || ' converting sessions from discount campaigns'"),
    ('late_night_mobile_shopper', "cast(late_night_mobile_sessions as varchar) || ' of ' || cast(recent_session_count as varchar) || ' sessions on mobile at night'"),
    ('browser_never_buys', "cast(recent_session_count as varchar) || ' sessions and no completed order'"),
    ('rapid_product_browser', "cast(max_product_views_in_burst_window as varchar) || ' product views within ' || '" ~ var('rule_browse_burst_window_minutes') ~ "' || ' minutes'"),
    ('category_enthusiast', "cast(top_category_view_count as varchar) || ' views of ' || top_viewed_category"),
    ('highly_engaged', "'session of ' || cast(max_session_seconds as varchar) || ' s, scroll ' || cast(max_scroll_depth_pct as varchar) || '%'"),
] %}

-- noqa: disable=LT02
memberships as (
    {%- for rule, reason in rules %}
    select
        person_id,
        '{{ rule }}' as segment_name,
        {{ reason }} as reason
    from flags
    where is_{{ rule }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
-- noqa: enable=LT02

ranked as (
    select
        memberships.person_id,
        memberships.segment_name,
        memberships.reason,
        catalog.parent_segment,
        row_number() over (
            partition by memberships.person_id
            order by catalog.priority asc, memberships.segment_name asc
        ) as membership_rank,
        count(*) over (partition by memberships.person_id) as rule_segment_count
    from memberships
    inner join catalog
        on memberships.segment_name = catalog.segment_name
),

final as (
    select
        flags.person_id,
        -- noqa: disable=LT02
        {%- for rule, reason in rules %}
        flags.is_{{ rule }},
        {%- endfor %}
        -- noqa: enable=LT02
        case when flags.is_category_enthusiast then flags.top_viewed_category end
            as enthusiast_category,
        coalesce(ranked.segment_name, 'general_audience') as primary_rule_segment,
        coalesce(ranked.parent_segment, 'general_audience') as primary_rule_segment_group,
        coalesce(ranked.reason, 'no rule applies') as primary_rule_reason,
        coalesce(ranked.rule_segment_count, 0) as rule_segment_count
    from flags
    left join ranked
        on
            flags.person_id = ranked.person_id
            and ranked.membership_rank = 1
)

select * from final
