-- The observation moment (data contract section 3), one row.
-- as_of is var('as_of') when given, else the latest "activity day" of valid events and orders:
-- a day holding at least as_of_min_daily_share of a typical day's rows and at most
-- as_of_max_gap_days after the previous activity day, so that stray far-future rows cannot
-- move it. A build on the same input therefore always observes the same moment.
{{ config(materialized='table', tags=['incremental']) }}

-- Events are counted per file and day by the incremental base_app__events_daily_counts, so this
-- reads a few rows per file instead of every event.

with

event_days as (
    select
        activity_date,
        row_count
    from {{ ref('base_app__events_daily_counts') }}
),

order_days as (
    select
        cast(ordered_at as date) as activity_date,
        count(*) as row_count
    from {{ ref('base_shop__orders') }}
    where _invalid_reason is null
    group by 1
),

activity_days as (
    select
        activity_date,
        sum(row_count) as row_count
    from (
        select
            activity_date,
            row_count
        from event_days
        union all
        select
            activity_date,
            row_count
        from order_days
    ) as activity
    group by 1
),

typical_day as (
    -- Row-weighted median of the daily row count: the count of the day at which, going from
    -- the busiest day down, half of all rows are reached. Sparse stray days barely move it.
    select max(row_count) as typical_row_count
    from (
        select
            row_count,
            sum(row_count) over (
                order by row_count desc, activity_date asc
                rows between unbounded preceding and current row
            ) as cumulative_row_count,
            sum(row_count) over () as total_row_count
        from activity_days
    ) as ranked_days
    where cumulative_row_count >= 0.5 * total_row_count
),

dense_days as (
    select activity_days.activity_date
    from activity_days
    cross join typical_day
    where
        activity_days.row_count
        >= {{ var('as_of_min_daily_share') }} * typical_day.typical_row_count
),

dense_days_with_gap as (
    select
        activity_date,
        lag(activity_date) over (order by activity_date) as previous_activity_date
    from dense_days
),

derived as (
    select max(activity_date) as derived_as_of_date
    from dense_days_with_gap
    where previous_activity_date is null
        or {{ dbt.datediff('previous_activity_date', 'activity_date', 'day') }}
        <= {{ var('as_of_max_gap_days') }}
),

chosen as (
    select
        {% if var('as_of') is not none -%}
        cast('{{ var("as_of") }}' as date) as as_of_date,
        'var' as as_of_source,
        {%- else -%}
        derived_as_of_date as as_of_date,
        'data' as as_of_source,
        {%- endif %}
        derived_as_of_date
    from derived
),

final as (
    select
        as_of_date,
        as_of_source,
        derived_as_of_date,
        {{ dbt.dateadd('day', 1, 'cast(as_of_date as ' ~ dbt.type_timestamp() ~ ')') }}
            as observation_end_at,
        {{ dbt.dateadd('day', 1 + var('future_tolerance_days'),
            'cast(as_of_date as ' ~ dbt.type_timestamp() ~ ')') }} as future_cutoff_at
    from chosen
)

select * from final
