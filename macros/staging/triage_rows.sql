{% macro triage_rows(base_model, key_columns, order_columns=[], future_columns=[]) %}
    {#-
        Final verdict for every row of a base model: quarantine_reason is null for an accepted
        row, else the first reason that applies, in this order: the base model's own checks
        (_invalid_reason), a timestamp later than the observation window's future cutoff
        (future_timestamp), and a repeat of a key already accepted (duplicate_key). Among rows
        sharing a key the first by order_columns, then file order, is kept.
    -#}
    with

    base as (
        select * from {{ ref(base_model) }}
    ),

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
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by
                    case when _row_reason is null then 0 else 1 end,
                    {%- for column in order_columns %}
                    {{ column }},
                    {%- endfor %}
                    _source_file,
                    _source_row
            ) as _key_rank
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
