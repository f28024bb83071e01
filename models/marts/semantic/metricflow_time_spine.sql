-- MetricFlow's time spine: one row per day from var('semantic_time_spine_start') to
-- var('semantic_time_spine_end'), for cumulative metrics (active members over 28 days) and
-- metrics by day. One row per date_day.
with

days as (
    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('semantic_time_spine_start') ~ "' as date)",
        "cast('" ~ var('semantic_time_spine_end') ~ "' as date)",
    ) }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
