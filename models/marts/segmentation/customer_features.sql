-- The feature matrix for clustering and models: one row per person with any activity or order
-- up to as_of. Behaviour over all history up to as_of (RFM, sessions, devices, time of day,
-- channels, discounts, email), demographics and survey psychographics. Transformations:
-- amounts and counts are log1p-transformed (skewed); shares are 0-1; missing values are imputed
-- explicitly (a documented constant) and flagged in is_*_imputed columns; categoricals are
-- one-hot encoded as 0/1 columns.
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
    select * from {{ ref('customer_rfm') }}
),

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

surveys as (
    select * from {{ ref('int_survey_responses_permitted') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

session_features as (
    select
        person_id,
        count(*) as session_count,
        count(distinct session_date) as active_days,
        min(started_at) as first_session_at,
        max(started_at) as last_session_at,
        avg(duration_seconds) as avg_session_seconds,
        avg(page_view_count + product_view_count) as pages_per_session,
        avg(case when device_type = 'mobile' then 1.0 else 0.0 end) as mobile_session_share,
        avg(case when {{ daypart_expression('started_at') }} = 'night' then 1.0 else 0.0 end)
            as night_session_share,
        avg(case when channel = 'email' then 1.0 else 0.0 end) as email_session_share,
        avg(case when channel in ('paid_search', 'affiliate') then 1.0 else 0.0 end)
            as paid_session_share,
        avg(case when channel in ('organic_search', 'direct', 'referral') then 1.0 else 0.0 end)
            as organic_session_share,
        avg(case when channel = 'social' then 1.0 else 0.0 end) as social_session_share,
        avg(
            case
                when {{ is_discount_campaign('first_touch_utm_campaign') }} then 1.0
                else 0.0
            end
        ) as discount_session_share,
        avg(case when add_to_cart_count > 0 then 1.0 else 0.0 end) as cart_session_share,
        avg(case when has_purchase then 1.0 else 0.0 end) as conversion_rate,
        avg(max_scroll_depth_pct) as avg_max_scroll_depth_pct,
        avg(engaged_seconds) as avg_engaged_seconds
    from sessions
    group by person_id
),

event_features as (
    select
        person_id,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_views,
        sum(case when event_type = 'email_open' then 1 else 0 end) as email_opens,
        sum(case when event_type = 'email_click' then 1 else 0 end) as email_clicks,
        sum(case when event_type = 'video_play' then 1 else 0 end) as video_plays
    from events
    group by person_id
),

survey_features as (
    select
        customer_id,
        1 as has_survey,
        max(case when answer in ('tech', 'gaming') then 1 else 0 end) as interest_tech,
        max(case when answer in ('fashion', 'beauty') then 1 else 0 end) as interest_style,
        max(case when answer in ('outdoors', 'fitness') then 1 else 0 end) as interest_active,
        max(case when answer in ('cooking', 'home_decor', 'parenting') then 1 else 0 end)
            as interest_home,
        max(case when answer = 'reading' then 1 else 0 end) as interest_reading,
        max(case when answer = 'price' then 1 else 0 end) as values_price,
        max(case when answer = 'quality' then 1 else 0 end) as values_quality,
        max(case when answer = 'sustainability' then 1 else 0 end) as values_sustainability,
        max(case when answer = 'convenience' then 1 else 0 end) as values_convenience
    from surveys
    group by customer_id
),

combined as (
    select
        persons.person_id,
        persons.customer_id,
        coalesce(session_features.session_count, 0) as session_count,
        coalesce(session_features.active_days, 0) as active_days,
        {{ dbt.datediff('coalesce(session_features.last_session_at, rfm.last_order_at)',
                        'observation_window.observation_end_at', 'day') }}
            as days_since_last_activity,
        session_features.avg_session_seconds,
        session_features.pages_per_session,
        session_features.mobile_session_share,
        session_features.night_session_share,
        session_features.email_session_share,
        session_features.paid_session_share,
        session_features.organic_session_share,
        session_features.social_session_share,
        session_features.discount_session_share,
        session_features.cart_session_share,
        session_features.conversion_rate,
        session_features.avg_max_scroll_depth_pct,
        session_features.avg_engaged_seconds,
        coalesce(event_features.product_views, 0) as product_views,
        coalesce(event_features.email_opens, 0) as email_opens,
        coalesce(event_features.email_clicks, 0) as email_clicks,
        coalesce(event_features.video_plays, 0) as video_plays,
        coalesce(rfm.order_count, 0) as order_count,
        coalesce(rfm.monetary_total, 0) as monetary_total,
        rfm.monetary_avg,
        rfm.recency_days,
        customers.birth_year,
        {{ dbt.datediff('coalesce(customers.signup_at, session_features.first_session_at)',
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
    left join event_features on persons.person_id = event_features.person_id
    left join rfm on persons.customer_id = rfm.customer_id
    left join customers on persons.customer_id = customers.customer_id
    left join survey_features on persons.customer_id = survey_features.customer_id
),

final as (
    select
        person_id,
        customer_id,
        -- activity (log1p of counts)
        ln(1 + session_count) as log_session_count,
        ln(1 + active_days) as log_active_days,
        ln(1 + coalesce(days_since_last_activity, {{ var('features_missing_days') }}))
            as log_days_since_last_activity,
        ln(1 + coalesce(avg_session_seconds, 0)) as log_avg_session_seconds,
        coalesce(pages_per_session, 0) as pages_per_session,
        ln(1 + product_views) as log_product_views,
        ln(1 + video_plays) as log_video_plays,
        -- context (shares of sessions)
        coalesce(mobile_session_share, 0) as mobile_session_share,
        coalesce(night_session_share, 0) as night_session_share,
        coalesce(email_session_share, 0) as email_session_share,
        coalesce(paid_session_share, 0) as paid_session_share,
        coalesce(organic_session_share, 0) as organic_session_share,
        coalesce(social_session_share, 0) as social_session_share,
        coalesce(discount_session_share, 0) as discount_session_share,
        coalesce(cart_session_share, 0) as cart_session_share,
        coalesce(conversion_rate, 0) as conversion_rate,
        coalesce(avg_max_scroll_depth_pct, 0) / 100.0 as scroll_depth_share,
        ln(1 + coalesce(avg_engaged_seconds, 0)) as log_avg_engaged_seconds,
        -- email
        ln(1 + email_opens) as log_email_opens,
        case when email_opens > 0 then 1.0 * email_clicks / email_opens else 0 end
            as email_click_through_rate,
        -- value (RFM)
        ln(1 + order_count) as log_order_count,
        ln(1 + monetary_total) as log_monetary_total,
        ln(1 + coalesce(monetary_avg, 0)) as log_order_value,
        ln(1 + coalesce(recency_days, {{ var('features_missing_days') }})) as log_recency_days,
        -- tenure: days since sign-up (else first session); features_missing_days when unknown
        ln(1 + greatest(coalesce(tenure_days, {{ var('features_missing_days') }}), 0))
            as log_tenure_days,
        -- demographics: age, imputed with var('features_default_age') when unknown
        coalesce(as_of_year - birth_year, {{ var('features_default_age') }}) as age_years,
        birth_year is null as is_age_imputed,
        -- psychographics (survey; 0 when not answered, flagged)
        coalesce(interest_tech, 0) as interest_tech,
        coalesce(interest_style, 0) as interest_style,
        coalesce(interest_active, 0) as interest_active,
        coalesce(interest_home, 0) as interest_home,
        coalesce(interest_reading, 0) as interest_reading,
        coalesce(values_price, 0) as values_price,
        coalesce(values_quality, 0) as values_quality,
        coalesce(values_sustainability, 0) as values_sustainability,
        coalesce(values_convenience, 0) as values_convenience,
        has_survey = 0 as is_survey_imputed,
        session_count = 0 as is_behaviour_imputed,
        order_count = 0 as is_value_imputed
    from combined
)

select * from final
