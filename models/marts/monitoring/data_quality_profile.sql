-- The data-quality profile of the accepted staged rows, per build (one as_of): one row per
-- table, column and value group. Numeric columns are profiled per group of their outlier fence
-- (currency, event type, or 'all'), with the fence and the number of values outside it, from
-- stg_shop__outlier_fences / stg_app__outlier_fences and the flags beside them; the key text
-- columns (ids, types, channels; and the CRM birth year, which is not fenced) over the whole
-- table ('all'): rows, nulls and distinct values. Flagged values are counted here, never
-- quarantined.
{#- The tables' own primary keys are left out: never null and unique by their tests. -#}
{%- set unfenced_columns = {
    'events': ['anonymous_id', 'user_id', 'event_type', 'product_id', 'device_type', 'channel'],
    'orders': ['customer_id', 'status', 'currency'],
    'order_items': ['order_id', 'product_id'],
    'products': ['category', 'brand'],
    'customers': ['country', 'loyalty_tier', 'birth_year'],
} %}
{%- set numeric_unfenced_columns = ['birth_year'] %}

with

observation_window as (
    select as_of_date from {{ ref('stg_observation_window') }}
),

shop_fences as (
    select * from {{ ref('stg_shop__outlier_fences') }}
),

app_fences as (
    select * from {{ ref('stg_app__outlier_fences') }}
),

shop_flags as (
    select * from {{ ref('stg_shop__outlier_flags') }}
),

app_flags as (
    select * from {{ ref('stg_app__outlier_flags') }}
),

events as (
    select * from {{ ref('stg_app__events') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

fences as (
    select * from shop_fences
    union all
    select * from app_fences
),

outlier_counts as (
    select
        source_table,
        column_name,
        value_group,
        count(*) as outlier_count
    from (
        select
            source_table,
            column_name,
            value_group
        from shop_flags
        union all
        select
            source_table,
            column_name,
            value_group
        from app_flags
    ) as flags
    group by source_table, column_name, value_group
),

fenced_profiles as (
    select
        fences.source_table,
        fences.column_name,
        fences.value_group,
        'numeric' as column_kind,
        fences.row_count,
        fences.null_count,
        fences.value_count,
        fences.distinct_count,
        fences.min_value,
        fences.max_value,
        fences.fence_scale,
        fences.lower_fence,
        fences.upper_fence,
        fences.fence_status,
        case
            when fences.fence_status = 'judged' then coalesce(outlier_counts.outlier_count, 0)
        end as outlier_count
    from fences
    left join outlier_counts
        on
            fences.source_table = outlier_counts.source_table
            and fences.column_name = outlier_counts.column_name
            and fences.value_group = outlier_counts.value_group
),

{% for table, columns in unfenced_columns.items() %}
{{ table }}_column_stats as (
    -- one pass over the table for all of its profiled columns
    select
        {%- for column in columns %}
        count({{ column }}) as {{ column }}__values,
        count(distinct {{ column }}) as {{ column }}__distinct,
        {%- if column in numeric_unfenced_columns %}
        min(cast({{ column }} as double precision)) as {{ column }}__min,
        max(cast({{ column }} as double precision)) as {{ column }}__max,
        {%- endif %}
        {%- endfor %}
        count(*) as row_count
    from {{ table }}
),

{% endfor -%}

unfenced_profiles as (
    {%- for table, columns in unfenced_columns.items() %}
    {%- set outer_loop = loop %}
    {%- for column in columns %}
    select
        '{{ table }}' as source_table,
        '{{ column }}' as column_name,
        'all' as value_group,
        '{{ "numeric" if column in numeric_unfenced_columns else "text" }}' as column_kind,
        row_count,
        row_count - {{ column }}__values as null_count,
        {{ column }}__values as value_count,
        {{ column }}__distinct as distinct_count,
        {%- if column in numeric_unfenced_columns %}
        {{ column }}__min as min_value,
        {{ column }}__max as max_value,
        {%- else %}
        cast(null as double precision) as min_value,
        cast(null as double precision) as max_value,
        {%- endif %}
        cast(null as {{ dbt.type_string() }}) as fence_scale,
        cast(null as double precision) as lower_fence,
        cast(null as double precision) as upper_fence,
        'not_fenced' as fence_status,
        cast(null as {{ dbt.type_bigint() }}) as outlier_count
    from {{ table }}_column_stats
    {%- if not (outer_loop.last and loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
),

profiles as (
    select * from fenced_profiles
    union all
    select * from unfenced_profiles
),

profiles_with_shares as (
    select
        *,
        case
            when row_count > 0 then round(1.0 * null_count / row_count, 4)
        end as null_share,
        case
            when value_count > 0 then round(1.0 * outlier_count / value_count, 6)
        end as outlier_share
    from profiles
),

final as (
    select
        observation_window.as_of_date,
        profiles_with_shares.source_table,
        profiles_with_shares.column_name,
        profiles_with_shares.value_group,
        profiles_with_shares.column_kind,
        profiles_with_shares.row_count,
        profiles_with_shares.null_count,
        profiles_with_shares.null_share,
        profiles_with_shares.distinct_count,
        profiles_with_shares.min_value,
        profiles_with_shares.max_value,
        profiles_with_shares.fence_scale,
        profiles_with_shares.lower_fence,
        profiles_with_shares.upper_fence,
        profiles_with_shares.fence_status,
        profiles_with_shares.outlier_count,
        profiles_with_shares.outlier_share
    from profiles_with_shares
    cross join observation_window
)

select * from final
