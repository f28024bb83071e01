-- One row per accepted event and fenced numeric column: the value outlier fences judge, its
-- group (the event type: a video's engaged time is not a page view's) and the fence scale.
-- Engaged seconds and revenue are fenced on the log1p scale (positive, right-skewed), the scroll
-- depth, a percentage already bounded to 0-100 by staging, on its own scale. A view over the
-- staged events: the incremental event tables are never rewritten for a flag.
with

events as (
    select * from {{ ref('stg_app__events') }}
),

engaged_seconds as (
    select
        'events' as source_table,
        'engaged_seconds' as column_name,
        event_id as row_key,
        cast(null as {{ dbt.type_string() }}) as row_subkey,
        event_type as value_group,
        'log1p' as fence_scale,
        cast(engaged_seconds as double precision) as measured_value,
        _source_file,
        _source_row
    from events
),

scroll_depths as (
    select
        'events' as source_table,
        'scroll_depth_pct' as column_name,
        event_id as row_key,
        cast(null as {{ dbt.type_string() }}) as row_subkey,
        event_type as value_group,
        'linear' as fence_scale,
        cast(scroll_depth_pct as double precision) as measured_value,
        _source_file,
        _source_row
    from events
),

revenues as (
    select
        'events' as source_table,
        'revenue' as column_name,
        event_id as row_key,
        cast(null as {{ dbt.type_string() }}) as row_subkey,
        event_type as value_group,
        'log1p' as fence_scale,
        cast(revenue as double precision) as measured_value,
        _source_file,
        _source_row
    from events
),

final as (
    select * from engaged_seconds
    union all
    select * from scroll_depths
    union all
    select * from revenues
)

select * from final
