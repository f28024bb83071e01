{% macro triage_rows(base_model, key_columns, order_columns=[], future_columns=[],
                     watermark_column=none) %}
    {#-
        Final verdict for every row of a base model: quarantine_reason is null for an accepted
        row, else the first reason that applies, in this order: the base model's own checks
        (_invalid_reason), a timestamp later than the observation window's future cutoff
        (future_timestamp), and a repeat of a key already accepted (duplicate_key). Among rows
        sharing a key the first by order_columns, then file order, is kept.

        In an incremental run (the calling model is incremental with unique_key = the key and
        delete+insert) only the keys that need a verdict are judged again, whole: keys of rows
        from files the table has not seen, keys quarantined as future_timestamp (a later as_of
        may admit them) and, on warehouse tables (no file lineage), keys of rows whose
        watermark_column lies within var('incremental_lookback_hours') of the latest accepted
        one. All rows of those keys are ranked again, exactly as a full build would rank them:
        on DuckDB the new files are read alone and the keys' earlier rows come from the table.
    -#}
    with

    {% if is_incremental() and target.type == 'duckdb' %}
    {#- Files carry lineage here: the new rows are exactly those of files the table has not
        seen, read alone (a constant file list lets DuckDB skip the other files). The earlier
        rows of the keys they touch are taken from the table itself, which holds every base row
        as it was read. -#}
    {%- set base_relation = ref(base_model) -%}
    {%- set base_columns = [] -%}
    {%- if reads_real_tables([base_relation]) -%}
        {%- for column in adapter.get_columns_in_relation(base_relation) -%}
            {%- do base_columns.append(column.name) -%}
        {%- endfor -%}
    {%- endif %}
    new_file_rows as (
        select *
        from {{ base_relation }}
        where {{ new_source_files_filter(base_relation, this) }}
    ),

    -- {{ this }} is named, not a CTE, where it is read twice: DuckDB would materialise the CTE
    touched_keys as (
        select distinct {{ key_columns | join(', ') }}
        from new_file_rows
        union
        select distinct {{ key_columns | join(', ') }}
        from {{ this }}
        where quarantine_reason = 'future_timestamp'
    ),

    base as (
        -- every row of the new files (rows without a key are judged once, when they arrive)
        select * from new_file_rows
        union all
        select
            {%- for column in base_columns %}
            existing.{{ column }}{% if not loop.last %},{% endif %}
            {%- else %}
            {#- the base columns, when they cannot be listed: the table's columns less the three
                this macro adds (this branch runs on DuckDB only) #}
            existing.* exclude (_row_reason, _key_rank, quarantine_reason)
            {%- endfor %}
        from {{ this }} as existing
        inner join touched_keys
            on
            {%- for key in key_columns %}
                {% if not loop.first %}and {% endif %}existing.{{ key }} = touched_keys.{{ key }}
            {%- endfor %}
    ),
    {% elif is_incremental() %}
    existing as (
        select * from {{ this }}
    ),

    watermark as (
        select
            {{ dbt.dateadd('hour', -1 * var('incremental_lookback_hours'),
                           'max(' ~ watermark_column ~ ')') }} as reopened_from
        from existing
        where quarantine_reason is null
    ),

    touched_keys as (
        select distinct {{ key_columns | join(', ') }}
        from {{ ref(base_model) }}
        cross join watermark
        where
            _source_file not in (
                select distinct _source_file from existing where _source_file is not null
            )
            or {{ watermark_column }} >= watermark.reopened_from
            or watermark.reopened_from is null
        union
        select distinct {{ key_columns | join(', ') }}
        from existing
        where quarantine_reason = 'future_timestamp'
    ),

    base as (
        select candidates.*
        from {{ ref(base_model) }} as candidates
        inner join touched_keys
            on
            {%- for key in key_columns %}
                {% if not loop.first %}and {% endif %}candidates.{{ key }} = touched_keys.{{ key }}
            {%- endfor %}
        union all
        -- rows without a key are judged once, when their file arrives
        select *
        from {{ ref(base_model) }}
        where
            ({% for key in key_columns %}{% if not loop.first %} or {% endif %}{{ key }} is null{% endfor %})
            and _source_file not in (
                select distinct _source_file from existing where _source_file is not null
            )
    ),
    {% else %}
    base as (
        select * from {{ ref(base_model) }}
    ),
    {% endif %}

    observation_window as (
        select * from {{ ref('stg_observation_window') }}
    ),

    checked as (
        select
            base.*,
            case
                when base._invalid_reason is not null then base._invalid_reason
                {%- for column in future_columns %}
                when base.{{ column }} > observation_window.future_cutoff_at
                    then 'future_timestamp'
                {%- endfor %}
            end as _row_reason
        from base
        cross join observation_window
    ),

    ranked as (
        select
            checked.*,
            -- a rejected row without a full key has no rank (nothing to be a duplicate of)
            case
                when _row_reason is not null and ({% for key in key_columns %}{% if not loop.first %} or {% endif %}{{ key }} is null{% endfor %})
                    then null
                else row_number() over (
                    partition by {{ key_columns | join(', ') }}
                    order by
                        case when _row_reason is null then 0 else 1 end,
                        {%- for column in order_columns %}
                        {{ column }},
                        {%- endfor %}
                        _source_file,
                        _source_row
                )
            end as _key_rank
        from checked
    ),

    final as (
        select
            ranked.*,
            coalesce(
                _row_reason,
                case when _key_rank > 1 then 'duplicate_key' end
            ) as quarantine_reason
        from ranked
    )

    select * from final
{% endmacro %}
