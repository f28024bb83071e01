-- The hand-written baseline of the pipeline benchmark: one DuckDB script that computes the core
-- outputs (deduplicated events, sessions, RFM, engagement) directly on the raw Parquet files,
-- with none of the project's guarantees (no quarantine with reasons, no consent or deletion
-- handling, no PII hashing, no identity stitching, no tests). {raw} and {as_of} are filled in
-- by python_utils.bench_pipeline.

create or replace table baseline_events as
with typed as (
    select
        event_id,
        coalesce(anonymous_id, user_id) as visitor_id,
        user_id,
        lower(trim(event_type)) as event_type,
        try_cast(occurred_at as timestamp) as occurred_at,
        page_url,
        product_id,
        device_type,
        channel,
        scroll_depth_pct,
        engaged_seconds
    from read_parquet('{raw}/events/*.parquet')
)
select * exclude (rn) from (
    select *, row_number() over (partition by event_id order by occurred_at) as rn
    from typed
    where event_id is not null and occurred_at is not null
        and occurred_at < date '{as_of}' + interval 1 day
) where rn = 1;

create or replace table baseline_sessions as
with gaps as (
    select
        *,
        case
            when lag(occurred_at) over w is null
                or occurred_at - lag(occurred_at) over w > interval 30 minute then 1 else 0
        end as is_start
    from baseline_events
    window w as (partition by visitor_id order by occurred_at, event_id)
),
numbered as (
    select *, sum(is_start) over (partition by visitor_id order by occurred_at, event_id
                                  rows unbounded preceding) as session_number
    from gaps
)
select
    visitor_id,
    session_number,
    min(occurred_at) as started_at,
    max(occurred_at) as ended_at,
    count(*) as event_count,
    count(*) filter (where event_type = 'page_view') as page_view_count,
    count(*) filter (where event_type = 'product_view') as product_view_count,
    count(*) filter (where event_type = 'purchase') > 0 as has_purchase,
    max(scroll_depth_pct) as max_scroll_depth_pct,
    sum(engaged_seconds) as engaged_seconds,
    any_value(device_type) as device_type,
    any_value(channel) as channel
from numbered
group by visitor_id, session_number;

create or replace table baseline_rfm as
with orders as (
    select * exclude (rn) from (
        select
            order_id,
            customer_id,
            try_cast(ordered_at as timestamp) as ordered_at,
            lower(status) as status,
            cast(total_amount as decimal(18, 2)) as total_amount,
            row_number() over (partition by order_id order by ordered_at) as rn
        from read_parquet('{raw}/orders/*.parquet')
    ) where rn = 1
),
summary as (
    select
        customer_id,
        count(*) as order_count,
        sum(total_amount) as monetary_total,
        date '{as_of}' - max(ordered_at)::date as recency_days
    from orders
    where status = 'completed' and customer_id is not null
        and ordered_at < date '{as_of}' + interval 1 day
    group by customer_id
)
select
    *,
    ntile(5) over (order by recency_days desc, customer_id) as r_score,
    ntile(5) over (order by order_count, monetary_total, customer_id) as f_score,
    ntile(5) over (order by monetary_total, order_count, customer_id) as m_score
from summary;

create or replace table baseline_engagement as
select
    visitor_id,
    count(*) as session_count,
    count(distinct started_at::date) as active_days,
    avg(page_view_count + product_view_count) as pages_per_session,
    sum(engaged_seconds) as engaged_seconds,
    least(100, 3 * least(count(*) / 20.0, 1) * 100 / 5
        + 2 * least(count(distinct started_at::date) / 15.0, 1) * 100 / 5) as engagement_score
from baseline_sessions
where started_at >= date '{as_of}' - interval 89 day
group by visitor_id;
