-- The observation moment (data contract section 3), one row.
-- as_of is var('as_of') when given, else derived from the valid events and orders: the dense
-- days (each holding at least as_of_min_daily_share of a typical day's rows) form runs, a new
-- run starting after a gap of more than as_of_max_gap_days; as_of is the last day of the run
-- that holds the most rows (of equal runs, the later). Stray days, even a few consecutive
-- far-future ones, form a small run of their own and cannot move it, and a build on the same
-- input always observes the same moment. Without any valid event or order (and no var) there
-- is nothing to derive it from: the post-hook stops the build, asking for --vars as_of.
{{ config(
    materialized='table',
    tags=['incremental'],
    post_hook="{{ check_as_of_known() }}",
) }}

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
    select
        activity_days.activity_date,
        activity_days.row_count
    from activity_days
    cross join typical_day
    where
        activity_days.row_count
        >= {{ var('as_of_min_daily_share') }} * typical_day.typical_row_count
),

dense_days_with_gap as (
    select
        activity_date,
        row_count,
        lag(activity_date) over (order by activity_date) as previous_activity_date
    from dense_days
),

-- a run of dense days: a new run starts at the first dense day and after every gap longer
-- than as_of_max_gap_days
dense_days_in_runs as (
    select
        activity_date,
        row_count,
        sum(
            case
                when previous_activity_date is null then 1
                when {{ dbt.datediff('previous_activity_date', 'activity_date', 'day') }}
                    > {{ var('as_of_max_gap_days') }} then 1
                else 0
            end
        ) over (
            order by activity_date
            rows between unbounded preceding and current row
        ) as run_number
    from dense_days_with_gap
),

runs as (
    select
        run_number,
        max(activity_date) as run_last_date,
        sum(row_count) as run_row_count
    from dense_days_in_runs
    group by 1
),

ranked_runs as (
    select
        run_last_date,
        row_number() over (order by run_row_count desc, run_last_date desc) as run_rank
    from runs
),

derived as (
    -- an aggregate, so that there is one row (null) even without any activity day
    select max(run_last_date) as derived_as_of_date
    from ranked_runs
    where run_rank = 1
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
