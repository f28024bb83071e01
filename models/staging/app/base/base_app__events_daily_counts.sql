{{ config(
    materialized='incremental',
    unique_key=['_source_file', 'activity_date'],
    incremental_strategy='delete+insert',
    tags=['incremental'],
) }}

-- Valid raw events (no row-level defect) per file and day: what stg_observation_window derives
-- as_of from, kept so that a run need not parse every event file again. Incremental on file
-- lineage (DuckDB): a run counts only the files the table has not seen, read alone (a constant
-- file list lets DuckDB skip the others), and keeps the counts of the files it has. Warehouse
-- tables have no file lineage, so there every run counts all rows again.
with

events as (
    select * from {{ ref('base_app__events') }}
    {%- if is_incremental() and target.type == 'duckdb' %}
    where {{ new_source_files_filter(ref('base_app__events'), this) }}
    {%- endif %}
),

final as (
    select
        _source_file,
        cast(occurred_at as date) as activity_date,
        count(*) as row_count
    from events
    where _invalid_reason is null
    group by 1, 2
)

select * from final
