{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    on_schema_change='append_new_columns',
    pre_hook="{{ purge_deleted_persons(refused_purpose='marketing') }}",
) }}
-- the pre-hook's models (purge_deleted_persons), so they build first:
-- depends_on: {{ ref('int_privacy_deleted_subjects') }}
-- depends_on: {{ ref('int_person_consents') }}

-- What changed in every audience since the last build, for tools that sync deltas: each build
-- compares audience_members with the state this table has recorded (the keys of the latest
-- change of every audience and person) and appends one row per audience, person and match key
-- that changed, numbered by build (change_number). change_type is per audience and person:
-- 'insert' (new member: its keys), 'update' (still a member, its keys changed: the current keys
-- plus the dropped ones with is_current_key false) and 'delete' (left: its last keys, all
-- is_current_key false). Re-running a build on unchanged data appends nothing; a --full-refresh
-- keeps the history (full_refresh=false): drop the table to start again.
-- Shrink guard: when more than var('audience_max_delete_share') of an audience's recorded
-- members would be deleted in one build, that build emits no delete for the audience (a broken
-- upstream must not empty an ad audience); the held-back persons stay in the recorded state, so
-- every later build holds them back too until the share is raised (or the data recovers), and
-- audience_sync_status shows it (a warn-severity test).
-- A person who refuses marketing or asks for deletion has every earlier row purged (pre-hook
-- purge_deleted_persons) and none written: tools remove such persons through the full
-- audience_members snapshot and audience_suppressions, never through this log.
with

members as (
    select * from {{ ref('audience_members') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

current_keys as (
    select
        audience_id,
        destination_id,
        person_id,
        match_key_type,
        match_key
    from members
),

-- The recorded state: the keys of every person's latest change in every audience (sqlfluff
-- cannot lay out both branches of the incremental switch at once).
-- noqa: disable=LT02
{% if is_incremental() %}

history as (
    select * from {{ this }}
),

latest_changes as (
    select
        audience_id,
        person_id,
        max(change_number) as change_number
    from history
    group by audience_id, person_id
),

previous_keys as (
    select
        history.audience_id,
        history.destination_id,
        history.person_id,
        history.match_key_type,
        history.match_key
    from history
    inner join latest_changes
        on
            history.audience_id = latest_changes.audience_id
            and history.person_id = latest_changes.person_id
            and history.change_number = latest_changes.change_number
    where history.is_current_key
),

this_run as (
    select coalesce(max(change_number), 0) + 1 as change_number from history
),

{% else %}

previous_keys as (
    select
        audience_id,
        destination_id,
        person_id,
        match_key_type,
        match_key
    from current_keys
    where 1 = 0
),

this_run as (
    select 1 as change_number
),

{% endif %}
-- noqa: enable=LT02

current_persons as (
    select distinct
        audience_id,
        person_id
    from current_keys
),

previous_persons as (
    select distinct
        audience_id,
        person_id
    from previous_keys
),

added_keys as (
    select
        audience_id,
        person_id,
        match_key_type,
        match_key
    from current_keys
    except
    select
        audience_id,
        person_id,
        match_key_type,
        match_key
    from previous_keys
),

dropped_keys as (
    select
        audience_id,
        person_id,
        match_key_type,
        match_key
    from previous_keys
    except
    select
        audience_id,
        person_id,
        match_key_type,
        match_key
    from current_keys
),

changed_persons as (
    select
        audience_id,
        person_id
    from added_keys
    union
    select
        audience_id,
        person_id
    from dropped_keys
),

person_changes as (
    select
        changed_persons.audience_id,
        changed_persons.person_id,
        case
            when previous_persons.person_id is null then 'insert'
            when current_persons.person_id is null then 'delete'
            else 'update'
        end as change_type
    from changed_persons
    left join previous_persons
        on
            changed_persons.audience_id = previous_persons.audience_id
            and changed_persons.person_id = previous_persons.person_id
    left join current_persons
        on
            changed_persons.audience_id = current_persons.audience_id
            and changed_persons.person_id = current_persons.person_id
),

-- the shrink guard, per audience: the share of the recorded members a delete would remove
previous_sizes as (
    select
        audience_id,
        count(*) as previous_member_count
    from previous_persons
    group by audience_id
),

delete_counts as (
    select
        audience_id,
        count(*) as delete_count
    from person_changes
    where change_type = 'delete'
    group by audience_id
),

held_back_audiences as (
    select delete_counts.audience_id
    from delete_counts
    inner join previous_sizes
        on delete_counts.audience_id = previous_sizes.audience_id
    where
        delete_counts.delete_count
        > {{ var('audience_max_delete_share') }} * previous_sizes.previous_member_count
),

change_rows as (
    -- inserts and updates: every current key of the person
    select
        current_keys.audience_id,
        current_keys.destination_id,
        current_keys.person_id,
        person_changes.change_type,
        current_keys.match_key_type,
        current_keys.match_key,
        true as is_current_key
    from person_changes
    inner join current_keys
        on
            person_changes.audience_id = current_keys.audience_id
            and person_changes.person_id = current_keys.person_id
    where person_changes.change_type in ('insert', 'update')
    union all
    -- updates: the keys the person no longer has; deletes: all its recorded keys
    select
        previous_keys.audience_id,
        previous_keys.destination_id,
        previous_keys.person_id,
        person_changes.change_type,
        previous_keys.match_key_type,
        previous_keys.match_key,
        false as is_current_key
    from person_changes
    inner join previous_keys
        on
            person_changes.audience_id = previous_keys.audience_id
            and person_changes.person_id = previous_keys.person_id
    inner join dropped_keys
        on
            previous_keys.audience_id = dropped_keys.audience_id
            and previous_keys.person_id = dropped_keys.person_id
            and previous_keys.match_key_type = dropped_keys.match_key_type
            and previous_keys.match_key = dropped_keys.match_key
    where
        person_changes.change_type = 'update'
        or (
            person_changes.change_type = 'delete'
            and person_changes.audience_id not in (
                select held_back_audiences.audience_id from held_back_audiences
            )
        )
),

final as (
    select
        change_rows.audience_id,
        change_rows.destination_id,
        change_rows.person_id,
        change_rows.change_type,
        change_rows.match_key_type,
        change_rows.match_key,
        change_rows.is_current_key,
        cast(this_run.change_number as {{ dbt.type_int() }}) as change_number,
        observation_window.observation_end_at as changed_at
    from change_rows
    cross join this_run
    cross join observation_window
)

select * from final
