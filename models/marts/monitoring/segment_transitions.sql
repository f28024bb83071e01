{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='transitioned_at',
    full_refresh=false,
    on_schema_change='append_new_columns',
) }}

-- Segment transitions per build (data contract, monitoring): for the moment this build
-- describes (the end of as_of) and every segment family, how many persons went from which
-- segment to which, from the spells of segment_membership_history. '(none)' is no segment:
-- (none) -> X entered, X -> (none) exited, X -> X stayed. Families whose persons hold one segment
-- at a time pair the person's segment before with the one after; a family where a person can
-- hold several (var('monitoring_multi_valued_families'), the rule flags) is paired segment by
-- segment. Appended per build (a re-run of the same day replaces its rows); counts only, so a
-- later deletion does not change a past build's row.
{%- set multi_valued = var('monitoring_multi_valued_families') %}

with

history as (
    select * from {{ ref('segment_membership_history') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

-- spells open just before and just after the build moment; pairing_key is the segment in a
-- multi-valued family (paired segment by segment) and empty in the others (paired by person)
before_build as (
    select
        history.person_id,
        history.segment_family,
        history.segment_name,
        case
            when history.segment_family in ({{ sql_string_list(multi_valued) }})
                then history.segment_name
            else ''
        end as pairing_key
    from history
    cross join observation_window
    where
        history.valid_from < observation_window.observation_end_at
        and coalesce(history.valid_to, observation_window.observation_end_at)
        >= observation_window.observation_end_at
),

after_build as (
    select
        history.person_id,
        history.segment_family,
        history.segment_name,
        case
            when history.segment_family in ({{ sql_string_list(multi_valued) }})
                then history.segment_name
            else ''
        end as pairing_key
    from history
    cross join observation_window
    where
        history.valid_from <= observation_window.observation_end_at
        and (history.valid_to is null or history.valid_to > observation_window.observation_end_at)
),

pairs as (
    select
        coalesce(before_build.segment_family, after_build.segment_family) as segment_family,
        coalesce(before_build.segment_name, '(none)') as from_segment,
        coalesce(after_build.segment_name, '(none)') as to_segment
    from before_build
    full outer join after_build
        on
            before_build.person_id = after_build.person_id
            and before_build.segment_family = after_build.segment_family
            and before_build.pairing_key = after_build.pairing_key
),

final as (
    select
        observation_window.observation_end_at as transitioned_at,
        observation_window.as_of_date,
        pairs.segment_family,
        pairs.from_segment,
        pairs.to_segment,
        pairs.from_segment != pairs.to_segment as is_change,
        count(*) as person_count
    from pairs
    cross join observation_window
    group by
        observation_window.observation_end_at,
        observation_window.as_of_date,
        pairs.segment_family,
        pairs.from_segment,
        pairs.to_segment
)

select * from final
