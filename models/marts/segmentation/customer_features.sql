-- The feature matrix for clustering and models: one row per person with any activity or order
-- up to as_of. Behaviour over all history up to as_of (RFM, sessions, devices, time of day,
-- channels, discounts, content, price level, email), CRM attributes, demographics and survey
-- psychographics. Transformations: amounts and counts are log1p-transformed (skewed); shares are
-- 0-1; missing values are imputed explicitly (a documented constant) and flagged in is_*_imputed
-- columns; categoricals are one-hot encoded as 0/1 columns.
-- Visit behaviour is measured over web sessions only (sessions with a page or product view):
-- e-mail opens also form sessions, and counting them would dilute every per-visit average.
-- Night and evening follow daypart_expression; morning here is the 06-10 commute window.
-- Per-person shares and per-visit means are shrunk towards the population value with
-- var('features_prior_sessions') pseudo-visits, so a person with one or two visits (or none,
-- e.g. without analytics consent) sits near the population instead of at an extreme.
-- A person is one human: RFM, orders, order lines, surveys, e-mail reach and CRM attributes
-- combine all of the person's customer ids (int_person_customers: CRM records linked by a shared
-- e-mail or phone key, or logins on one device). CRM attributes over several records: the
-- earliest sign-up, the highest loyalty tier, the primary record's birth year (else the
-- smallest id's that has one).
-- Outliers: order value features use each completed order's total winsorised at the outlier
-- fence it crossed (int_orders_permitted.winsorised_total_amount), so one test-like order of a
-- million does not make its buyer a cluster of its own; customer_rfm keeps the raw totals.
{%- set prior = var('features_prior_sessions') %}
with

persons as (
    select * from {{ ref('int_persons') }}
),

sessions as (
    select * from {{ ref('int_sessions_built') }}
    where person_id is not null
),

events as (
    select * from {{ ref('int_events_sessionized') }}
    where person_id is not null
),

rfm as (
    select * from {{ ref('int_person_rfm_scored') }}
),

person_customers as (
    select * from {{ ref('int_person_customers') }}
),

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

-- orders of all the person's customer ids, keyed by person
orders as (
    select * from {{ ref('int_person_orders') }}
),

order_items as (
    select * from {{ ref('int_order_items_permitted') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

surveys as (
    select * from {{ ref('int_survey_responses_permitted') }}
),

consents as (
    select * from {{ ref('int_person_consents') }}
),

-- order value per person over its completed orders, totals winsorised at the outlier fences
order_values as (
    select
        person_id,
        cast(sum(winsorised_total_amount) / count(distinct order_id) as decimal(18, 2))
            as monetary_avg,
        sum(winsorised_total_amount) as monetary_total
    from orders
    where status = 'completed'
    group by person_id
),

-- CRM attributes per person, over all its customer records
person_crm as (
    select
        person_customers.person_id,
        min(customers.signup_at) as signup_at,
        max(
            case customers.loyalty_tier
                when 'bronze' then 1 when 'silver' then 2 when 'gold' then 3
                when 'platinum' then 4 else 0
            end
        ) as loyalty_level,
        coalesce(
            max(case when person_customers.is_primary_customer then customers.birth_year end),
            min(customers.birth_year)
        ) as birth_year
    from person_customers
    inner join customers
        on person_customers.customer_id = customers.customer_id
    group by person_customers.person_id
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

-- Price level of a product: its percentile rank by price within its category (0 cheapest),
-- as an exact decimal so that sums of it do not depend on the order rows are added in.
product_price_levels as (
    select
        product_id,
        price,
        cast(
            round(percent_rank() over (partition by category order by price), 6)
            as {{ dbt.type_numeric() }}
        ) as price_level
    from products
),

web_sessions as (
    select
        *,
        extract(hour from started_at) as start_hour,
        case
            when {{ is_discount_campaign('sessions.first_touch_utm_campaign') }} then 1.0
            else 0.0
        end as is_discount_session
    from sessions
    where page_view_count + product_view_count > 0
),

-- Promotion days, observed in the traffic: days on which the share of visits arriving through
-- a discount campaign is at least var('features_promo_day_ratio') times the window's share.
daily_discount_shares as (
    select
        session_date,
        avg(is_discount_session) as discount_share
    from web_sessions
    group by session_date
),

window_discount_share as (
    select avg(is_discount_session) as discount_share
    from web_sessions
),

promo_days as (
    select daily_discount_shares.session_date
    from daily_discount_shares
    cross join window_discount_share
    where daily_discount_shares.discount_share
        >= {{ var('features_promo_day_ratio') }} * window_discount_share.discount_share
),

visits as (
    select
        web_sessions.*,
        case when promo_days.session_date is not null then 1.0 else 0.0 end as is_promo_day,
        case
            when {{ daypart_expression('web_sessions.started_at') }} = 'night' then 1.0
            else 0.0
        end as is_night,
        case
            when web_sessions.start_hour >= 6 and web_sessions.start_hour < 10 then 1.0 else 0.0
        end
            as is_morning,
        case
            when {{ daypart_expression('web_sessions.started_at') }} = 'evening' then 1.0
            else 0.0
        end as is_evening
    from web_sessions
    left join promo_days on web_sessions.session_date = promo_days.session_date
),

session_features as (
    select
        person_id,
        count(*) as session_count,
        count(distinct session_date) as active_days,
        min(started_at) as first_session_at,
        max(started_at) as last_session_at,
        sum(duration_seconds) as sum_session_seconds,
        sum(page_view_count + product_view_count) as sum_pages,
        sum(case when device_type = 'mobile' then 1.0 else 0.0 end) as mobile_sessions,
        sum(is_night) as night_sessions,
        sum(is_morning) as morning_sessions,
        sum(is_evening) as evening_sessions,
        sum(case when channel = 'email' then 1.0 else 0.0 end) as email_sessions,
        sum(case when channel in ('paid_search', 'affiliate') then 1.0 else 0.0 end)
            as paid_sessions,
        sum(case when channel in ('organic_search', 'direct', 'referral') then 1.0 else 0.0 end)
            as organic_sessions,
        sum(case when channel = 'social' then 1.0 else 0.0 end) as social_sessions,
        sum(case when channel = 'direct' then 1.0 else 0.0 end) as direct_sessions,
        sum(case when channel = 'affiliate' then 1.0 else 0.0 end) as affiliate_sessions,
        sum(is_discount_session) as discount_sessions,
        sum(is_promo_day) as promo_day_sessions,
        sum(case when add_to_cart_count > 0 then 1.0 else 0.0 end) as cart_sessions,
        sum(case when has_purchase then 1.0 else 0.0 end) as purchase_sessions,
        sum(max_scroll_depth_pct) as sum_max_scroll_depth_pct,
        sum(engaged_seconds) as sum_engaged_seconds
    from visits
    group by person_id
),

-- Any recorded touch (web session, e-mail session, order) for first / last activity.
all_activity as (
    select
        person_id,
        min(started_at) as first_activity_at,
        max(started_at) as last_activity_at
    from sessions
    group by person_id
),

event_features as (
    select
        events.person_id,
        sum(case when events.event_type = 'page_view' then 1 else 0 end) as page_views,
        sum(case when events.event_type = 'product_view' then 1 else 0 end) as product_views,
        sum(
            case
                when
                    events.event_type = 'page_view' and events.page_url like '%/blog/%'
                    then 1
                else 0
            end
        )
            as blog_views,
        sum(case when events.event_type = 'email_open' then 1 else 0 end) as email_opens,
        sum(case when events.event_type = 'email_click' then 1 else 0 end) as email_clicks,
        sum(case when events.event_type = 'video_play' then 1 else 0 end) as video_plays,
        sum(case when events.event_type = 'add_to_wishlist' then 1 else 0 end) as wishlist_adds,
        sum(case when events.event_type = 'checkout_started' then 1 else 0 end) as checkouts,
        sum(case when events.event_type = 'add_to_cart' then 1 else 0 end) as cart_adds,
        count(product_price_levels.price_level) as priced_views,
        sum(product_price_levels.price_level) as sum_price_level
    from events
    left join product_price_levels
        on events.product_id = product_price_levels.product_id
            and events.event_type in ('product_view', 'add_to_cart', 'add_to_wishlist')
    group by events.person_id
),

-- Orders stand in for visits (time of day) for customers without web sessions (e.g. no
-- analytics consent).
order_features as (
    select
        orders.person_id,
        count(*) as orders,
        sum(
            case
                when {{ daypart_expression('orders.ordered_at') }} = 'night' then 1.0
                else 0.0
            end
        ) as night_orders,
        sum(
            case when extract(hour from orders.ordered_at) >= 6
                    and extract(hour from orders.ordered_at) < 10
                    then 1.0
                else 0.0
            end
        ) as morning_orders,
        sum(
            case
                when {{ daypart_expression('orders.ordered_at') }} = 'evening' then 1.0
                else 0.0
            end
        ) as evening_orders,
        sum(case when promo_days.session_date is not null then 1.0 else 0.0 end) as promo_day_orders
    from orders
    left join promo_days on orders.ordered_date = promo_days.session_date
    group by orders.person_id
),

-- E-mail sends, observed as the first open of each e-mail campaign.
email_sends as (
    select
        utm_campaign,
        min(occurred_at) as sent_at
    from events
    where event_type = 'email_open' and utm_campaign is not null
    group by utm_campaign
),

-- Sends a customer could have opened: after sign-up, while the person's marketing consent held
-- (until a revocation), and only for persons whose e-mail events are observable (analytics
-- consent), both at the end of as_of (int_person_consents).
email_reach as (
    select
        person_crm.person_id,
        count(email_sends.utm_campaign) as emails_sent
    from person_crm
    inner join consents as marketing
        on person_crm.person_id = marketing.person_id
            and marketing.purpose = 'marketing'
            and (marketing.is_granted or marketing.decision_count > 1)
    inner join consents as analytics
        on person_crm.person_id = analytics.person_id
            and analytics.purpose = 'analytics'
            and analytics.is_granted
    inner join email_sends
        on person_crm.signup_at <= email_sends.sent_at
            and (marketing.is_granted or marketing.decided_at > email_sends.sent_at)
    group by person_crm.person_id
),

order_item_features as (
    select
        orders.person_id,
        count(*) as order_lines,
        sum(
            case
                when
                    order_items.unit_price
                    < {{ var('features_discounted_price_ratio') }} * product_price_levels.price
                    then 1.0
                else 0.0
            end
        )
            as discounted_lines,
        count(product_price_levels.price_level) as priced_lines,
        sum(product_price_levels.price_level) as sum_line_price_level
    from orders
    inner join order_items on orders.order_id = order_items.order_id
    left join product_price_levels on order_items.product_id = product_price_levels.product_id
    group by orders.person_id
),

survey_features as (
    select
        person_customers.person_id,
        1 as has_survey,
        max(case when surveys.answer in ('tech', 'gaming') then 1 else 0 end) as interest_tech,
        max(case when surveys.answer in ('fashion', 'beauty') then 1 else 0 end) as interest_style,
        max(case when surveys.answer in ('outdoors', 'fitness') then 1 else 0 end)
            as interest_active,
        max(case when surveys.answer in ('cooking', 'home_decor', 'parenting') then 1 else 0 end)
            as interest_home,
        max(case when surveys.answer = 'reading' then 1 else 0 end) as interest_reading,
        max(case when surveys.answer = 'price' then 1 else 0 end) as values_price,
        max(case when surveys.answer = 'quality' then 1 else 0 end) as values_quality,
        max(case when surveys.answer = 'sustainability' then 1 else 0 end) as values_sustainability,
        max(case when surveys.answer = 'convenience' then 1 else 0 end) as values_convenience
    from surveys
    inner join person_customers
        on surveys.customer_id = person_customers.customer_id
    group by person_customers.person_id
),

combined as (
    select
        persons.person_id,
        persons.customer_id,
        coalesce(session_features.session_count, 0) as session_count,
        coalesce(session_features.active_days, 0) as active_days,
        {{ dbt.datediff('coalesce(all_activity.last_activity_at, rfm.last_order_at)',
                        'observation_window.observation_end_at', 'day') }}
            as days_since_last_activity,
        {{ dbt.datediff('coalesce(all_activity.first_activity_at, rfm.first_order_at)',
                        'observation_window.observation_end_at', 'day') }}
            as days_since_first_activity,
        session_features.sum_session_seconds,
        session_features.sum_pages,
        session_features.mobile_sessions,
        session_features.night_sessions,
        session_features.morning_sessions,
        session_features.evening_sessions,
        session_features.email_sessions,
        session_features.paid_sessions,
        session_features.organic_sessions,
        session_features.social_sessions,
        session_features.direct_sessions,
        session_features.affiliate_sessions,
        session_features.discount_sessions,
        session_features.promo_day_sessions,
        session_features.cart_sessions,
        session_features.purchase_sessions,
        session_features.sum_max_scroll_depth_pct,
        session_features.sum_engaged_seconds,
        coalesce(event_features.page_views, 0) as page_views,
        coalesce(event_features.product_views, 0) as product_views,
        coalesce(event_features.blog_views, 0) as blog_views,
        coalesce(event_features.email_opens, 0) as email_opens,
        coalesce(event_features.email_clicks, 0) as email_clicks,
        coalesce(event_features.video_plays, 0) as video_plays,
        coalesce(event_features.wishlist_adds, 0) as wishlist_adds,
        coalesce(event_features.checkouts, 0) as checkouts,
        coalesce(event_features.cart_adds, 0) as cart_adds,
        coalesce(event_features.priced_views, 0) + coalesce(order_item_features.priced_lines, 0)
            as priced_products,
        coalesce(event_features.sum_price_level, 0)
        + coalesce(order_item_features.sum_line_price_level, 0) as sum_price_level,
        case when
                coalesce(session_features.session_count, 0) > 0
                then session_features.session_count
            else order_features.orders
        end as touches,
        case when
                coalesce(session_features.session_count, 0) > 0
                then session_features.night_sessions
            else order_features.night_orders
        end as night_touches,
        case when
                coalesce(session_features.session_count, 0) > 0
                then session_features.morning_sessions
            else order_features.morning_orders
        end as morning_touches,
        case when
                coalesce(session_features.session_count, 0) > 0
                then session_features.evening_sessions
            else order_features.evening_orders
        end as evening_touches,
        case when
                coalesce(session_features.session_count, 0) > 0
                then session_features.promo_day_sessions
            else order_features.promo_day_orders
        end as promo_day_touches,
        email_reach.emails_sent,
        coalesce(order_item_features.order_lines, 0) as order_lines,
        coalesce(order_item_features.discounted_lines, 0) as discounted_lines,
        coalesce(rfm.order_count, 0) as order_count,
        coalesce(order_values.monetary_total, 0) as monetary_total,
        order_values.monetary_avg,
        rfm.recency_days,
        person_crm.birth_year,
        coalesce(person_crm.loyalty_level, 0) as loyalty_level,
        {{ dbt.datediff('coalesce(person_crm.signup_at, all_activity.first_activity_at)',
                        'observation_window.observation_end_at', 'day') }} as tenure_days,
        survey_features.interest_tech,
        survey_features.interest_style,
        survey_features.interest_active,
        survey_features.interest_home,
        survey_features.interest_reading,
        survey_features.values_price,
        survey_features.values_quality,
        survey_features.values_sustainability,
        survey_features.values_convenience,
        coalesce(survey_features.has_survey, 0) as has_survey,
        extract(year from observation_window.as_of_date) as as_of_year
    from persons
    cross join observation_window
    left join session_features on persons.person_id = session_features.person_id
    left join all_activity on persons.person_id = all_activity.person_id
    left join event_features on persons.person_id = event_features.person_id
    left join rfm on persons.person_id = rfm.person_id
    left join order_values on persons.person_id = order_values.person_id
    left join person_crm on persons.person_id = person_crm.person_id
    left join order_item_features on persons.person_id = order_item_features.person_id
    left join order_features on persons.person_id = order_features.person_id
    left join email_reach on persons.person_id = email_reach.person_id
    left join survey_features on persons.person_id = survey_features.person_id
),

-- Population values the per-person rates are shrunk towards (pooled over all web sessions,
-- order lines and priced products; 0 when the population has none, e.g. no web sessions).
priors as (
    select
        coalesce(sum(sum_session_seconds) / nullif(sum(session_count), 0), 0) as session_seconds,
        coalesce(sum(sum_pages) / nullif(sum(session_count), 0), 0) as pages,
        coalesce(sum(mobile_sessions) / nullif(sum(session_count), 0), 0) as mobile,
        coalesce(sum(night_touches) / nullif(sum(touches), 0), 0) as night,
        coalesce(sum(morning_touches) / nullif(sum(touches), 0), 0) as morning,
        coalesce(sum(evening_touches) / nullif(sum(touches), 0), 0) as evening,
        coalesce(
            1.0 * sum(case when emails_sent > 0 then email_opens end) / nullif(sum(emails_sent), 0),
            0
        ) as email_open,
        coalesce(sum(email_sessions) / nullif(sum(session_count), 0), 0) as email,
        coalesce(sum(paid_sessions) / nullif(sum(session_count), 0), 0) as paid,
        coalesce(sum(organic_sessions) / nullif(sum(session_count), 0), 0) as organic,
        coalesce(sum(social_sessions) / nullif(sum(session_count), 0), 0) as social,
        coalesce(sum(direct_sessions) / nullif(sum(session_count), 0), 0) as direct,
        coalesce(sum(affiliate_sessions) / nullif(sum(session_count), 0), 0) as affiliate,
        coalesce(sum(discount_sessions) / nullif(sum(session_count), 0), 0) as discount,
        coalesce(sum(promo_day_touches) / nullif(sum(touches), 0), 0) as promo_day,
        coalesce(sum(cart_sessions) / nullif(sum(session_count), 0), 0) as cart,
        coalesce(sum(purchase_sessions) / nullif(sum(session_count), 0), 0) as purchase,
        coalesce(
            sum(sum_max_scroll_depth_pct) / nullif(sum(session_count), 0) / 100.0,
            0
        ) as scroll_depth,
        coalesce(sum(sum_engaged_seconds) / nullif(sum(session_count), 0), 0) as engaged_seconds,
        coalesce(1.0 * sum(blog_views) / nullif(sum(page_views), 0), 0) as blog,
        coalesce(1.0 * sum(video_plays) / nullif(sum(session_count), 0), 0) as video,
        coalesce(1.0 * sum(product_views) / nullif(sum(session_count), 0), 0) as product_views,
        coalesce(1.0 * sum(wishlist_adds) / nullif(sum(session_count), 0), 0) as wishlist,
        coalesce(1.0 * sum(checkouts) / nullif(sum(cart_sessions), 0), 0) as checkout,
        coalesce(1.0 * sum(discounted_lines) / nullif(sum(order_lines), 0), 0) as discounted_lines,
        coalesce(1.0 * sum(sum_price_level) / nullif(sum(priced_products), 0), 0) as price_level
    from combined
),

final as (
    select
        combined.person_id,
        combined.customer_id,
        -- activity (log1p of counts; sessions are web sessions)
        ln(1 + combined.session_count) as log_session_count,
        ln(1 + combined.active_days) as log_active_days,
        ln(1 + coalesce(combined.days_since_last_activity, {{ var('features_missing_days') }}))
            as log_days_since_last_activity,
        -- share of the person's observed span (first touch to as_of) spent inactive at the end
        case
            when combined.days_since_first_activity > 0
                then 1.0 * combined.days_since_last_activity / combined.days_since_first_activity
            else 0.5
        end as inactive_span_share,
        ln(1 + {{ shrunk_rate(
            'combined.sum_session_seconds',
            'combined.session_count',
            'priors.session_seconds',
            prior
        ) }})
            as log_avg_session_seconds,
        {{ shrunk_rate(
            'combined.sum_pages',
            'combined.session_count',
            'priors.pages',
            prior
        ) }} as pages_per_session,
        {{ shrunk_rate(
            'combined.product_views',
            'combined.session_count',
            'priors.product_views',
            prior
        ) }}
            as products_per_session,
        ln(1 + combined.product_views) as log_product_views,
        ln(1 + combined.video_plays) as log_video_plays,
        {{ shrunk_rate(
            'combined.video_plays',
            'combined.session_count',
            'priors.video',
            prior
        ) }} as videos_per_session,
        {{ shrunk_rate(
            'combined.wishlist_adds',
            'combined.session_count',
            'priors.wishlist',
            prior
        ) }}
            as wishlist_adds_per_session,
        {{ shrunk_rate(
            'combined.blog_views',
            'combined.page_views',
            'priors.blog',
            prior
        ) }} as blog_view_share,
        -- context (shares of web sessions)
        {{ shrunk_rate(
            'combined.mobile_sessions',
            'combined.session_count',
            'priors.mobile',
            prior
        ) }} as mobile_session_share,
        {{ shrunk_rate(
            'combined.night_touches',
            'combined.touches',
            'priors.night',
            prior
        ) }} as night_session_share,
        {{ shrunk_rate('combined.morning_touches', 'combined.touches', 'priors.morning', prior) }}
            as morning_session_share,
        {{ shrunk_rate('combined.evening_touches', 'combined.touches', 'priors.evening', prior) }}
            as evening_session_share,
        {{ shrunk_rate(
            'combined.email_sessions',
            'combined.session_count',
            'priors.email',
            prior
        ) }} as email_session_share,
        {{ shrunk_rate(
            'combined.paid_sessions',
            'combined.session_count',
            'priors.paid',
            prior
        ) }} as paid_session_share,
        {{ shrunk_rate(
            'combined.organic_sessions',
            'combined.session_count',
            'priors.organic',
            prior
        ) }}
            as organic_session_share,
        {{ shrunk_rate(
            'combined.social_sessions',
            'combined.session_count',
            'priors.social',
            prior
        ) }} as social_session_share,
        {{ shrunk_rate(
            'combined.direct_sessions',
            'combined.session_count',
            'priors.direct',
            prior
        ) }} as direct_session_share,
        {{ shrunk_rate(
            'combined.affiliate_sessions',
            'combined.session_count',
            'priors.affiliate',
            prior
        ) }}
            as affiliate_session_share,
        {{ shrunk_rate(
            'combined.discount_sessions',
            'combined.session_count',
            'priors.discount',
            prior
        ) }}
            as discount_session_share,
        {{ shrunk_rate(
            'combined.promo_day_touches',
            'combined.touches',
            'priors.promo_day',
            prior
        ) }}
            as promo_day_session_share,
        {{ shrunk_rate(
            'combined.discounted_lines',
            'combined.order_lines',
            'priors.discounted_lines',
            prior
        ) }}
            as discounted_item_share,
        {{ shrunk_rate(
            'combined.sum_price_level',
            'combined.priced_products',
            'priors.price_level',
            prior
        ) }}
            as price_level,
        {{ shrunk_rate(
            'combined.cart_sessions',
            'combined.session_count',
            'priors.cart',
            prior
        ) }} as cart_session_share,
        {{ shrunk_rate(
            'combined.checkouts',
            'combined.cart_sessions',
            'priors.checkout',
            prior
        ) }} as checkout_rate,
        {{ shrunk_rate(
            'combined.purchase_sessions',
            'combined.session_count',
            'priors.purchase',
            prior
        ) }} as conversion_rate,
        {{ shrunk_rate(
            'combined.sum_max_scroll_depth_pct / 100.0',
            'combined.session_count',
            'priors.scroll_depth',
            prior
        ) }}
            as scroll_depth_share,
        ln(1 + {{ shrunk_rate(
            'combined.sum_engaged_seconds',
            'combined.session_count',
            'priors.engaged_seconds',
            prior
        ) }})
            as log_avg_engaged_seconds,
        -- email
        ln(1 + combined.email_opens) as log_email_opens,
        -- opens per e-mail the person could have opened (population rate when none)
        {{ shrunk_rate(
            'case when combined.emails_sent > 0 then combined.email_opens end',
            'combined.emails_sent',
            'priors.email_open',
            prior
        ) }}
            as email_open_rate,
        case
            when
                combined.email_opens > 0
                then 1.0 * combined.email_clicks / combined.email_opens
            else 0
        end
            as email_click_through_rate,
        -- value (RFM)
        ln(1 + combined.order_count) as log_order_count,
        ln(1 + combined.monetary_total) as log_monetary_total,
        ln(1 + coalesce(combined.monetary_avg, 0)) as log_order_value,
        ln(1 + coalesce(combined.recency_days, {{ var('features_missing_days') }}))
            as log_recency_days,
        -- CRM: 1 for a registered customer (has a customer record), 0 for an anonymous-only person
        case when combined.customer_id is not null then 1 else 0 end as account_holder,
        -- CRM: loyalty tier as a level (0 none, 1 bronze .. 4 platinum)
        combined.loyalty_level,
        -- tenure: days since sign-up (else first session); features_missing_days when unknown
        ln(1 + greatest(coalesce(combined.tenure_days, {{ var('features_missing_days') }}), 0))
            as log_tenure_days,
        -- demographics: age, imputed with var('features_default_age') when unknown
        coalesce(combined.as_of_year - combined.birth_year, {{ var('features_default_age') }})
            as age_years,
        combined.birth_year is null as is_age_imputed,
        -- psychographics (survey; 0 when not answered, flagged)
        coalesce(combined.interest_tech, 0) as interest_tech,
        coalesce(combined.interest_style, 0) as interest_style,
        coalesce(combined.interest_active, 0) as interest_active,
        coalesce(combined.interest_home, 0) as interest_home,
        coalesce(combined.interest_reading, 0) as interest_reading,
        coalesce(combined.values_price, 0) as values_price,
        coalesce(combined.values_quality, 0) as values_quality,
        coalesce(combined.values_sustainability, 0) as values_sustainability,
        coalesce(combined.values_convenience, 0) as values_convenience,
        combined.has_survey = 0 as is_survey_imputed,
        combined.session_count = 0 as is_behaviour_imputed,
        combined.order_count = 0 as is_value_imputed
    from combined
    cross join priors
)

select * from final
