-- What a person did in their first sessions (the first classifier_early_sessions of them): the
-- inputs of the segment classifier, which predicts the segment of a new visitor from early
-- behaviour alone. One row per person with at least one session.
with

sessions as (
    select * from {{ ref('int_sessions_built') }}
    where person_id is not null
),

numbered as (
    select
        *,
        row_number() over (
            partition by person_id order by started_at, session_id
        ) as person_session_number
    from sessions
),

early as (
    select * from numbered
    where person_session_number <= {{ var('classifier_early_sessions') }}
),

final as (
    select
        person_id,
        count(*) as early_session_count,
        avg(case when device_type = 'mobile' then 1.0 else 0.0 end) as early_mobile_share,
        avg(case when device_type = 'desktop' then 1.0 else 0.0 end) as early_desktop_share,
        avg(case when {{ daypart_expression('started_at') }} = 'night' then 1.0 else 0.0 end)
            as early_night_share,
        avg(case when {{ daypart_expression('started_at') }} = 'evening' then 1.0 else 0.0 end)
            as early_evening_share,
        avg(case when channel = 'social' then 1.0 else 0.0 end) as early_social_share,
        avg(case when channel in ('paid_search', 'affiliate') then 1.0 else 0.0 end)
            as early_paid_share,
        avg(case when channel = 'email' then 1.0 else 0.0 end) as early_email_share,
        avg(case when channel = 'direct' then 1.0 else 0.0 end) as early_direct_share,
        avg(
            case
                when {{ is_discount_campaign('first_touch_utm_campaign') }} then 1.0
                else 0.0
            end
        ) as early_discount_share,
        avg(case when landing_page_url like '%/blog/%' then 1.0 else 0.0 end)
            as early_blog_landing_share,
        avg(1.0 * page_view_count) as early_pages_per_session,
        avg(1.0 * product_view_count) as early_products_per_session,
        avg(case when add_to_cart_count > 0 then 1.0 else 0.0 end) as early_cart_share,
        avg(case when has_purchase then 1.0 else 0.0 end) as early_purchase_share,
        avg(coalesce(max_scroll_depth_pct, 0)) / 100.0 as early_scroll_depth_share,
        ln(1 + avg(coalesce(engaged_seconds, 0))) as early_log_engaged_seconds,
        ln(1 + avg(duration_seconds)) as early_log_session_seconds,
        max(case when customer_id is not null then 1 else 0 end) as early_is_known_customer
    from early
    group by person_id
)

select * from final
