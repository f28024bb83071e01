{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='spell_id',
    full_refresh=false,
    on_schema_change='append_new_columns',
    pre_hook="{{ purge_deleted_persons(refused_purpose='analytics') }}",
) }}

-- Segment membership history for monitoring: one row per person, segment family, segment and
-- spell (a stretch of builds the person stayed in the segment). Every daily build compares the
-- memberships of segment_memberships (the daily families; the real-time family follows the
-- stream clock and is left out) with the spells still open here: a membership that is new opens
-- a spell (valid_from = the moment the build describes, the end of as_of), one that is gone
-- closes its spell (valid_to = that moment, is_current false); the others are not touched, so a
-- re-run of the same day writes nothing. History starts with the first build (its spells start
-- there, however long the person had been a member: member_since_at says what the segment
-- knows). Builds are expected to move forward in time (a build for an as_of before the latest
-- spell boundary writes nothing).
-- Persons are those whose analytics consent is in force (int_person_consents: monitoring reads
-- behaviour, not contact); a person who refuses analytics, or is deleted, is purged from the
-- whole history (pre-hook purge_deleted_persons), and a later grant starts it afresh.
-- Full refresh keeps the history (full_refresh=false); drop the table to start again.
with

memberships as (
    select * from {{ ref('segment_memberships') }}
    where segment_family != 'realtime'
),

consents as (
    select * from {{ ref('int_person_consents') }}
    where purpose = 'analytics'
),

deleted as (
    select * from {{ ref('int_privacy_deleted_subjects') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

-- memberships of persons with analytics consent and no deletion request (the daily marts may
-- still hold a person whose request landed since)
current_memberships as (
    select
        memberships.person_id,
        memberships.segment_family,
        memberships.segment_name,
        memberships.member_since_at
    from memberships
    inner join consents
        on memberships.person_id = consents.person_id
    where
        consents.is_granted
        and {{ hash_pii('memberships.person_id') }} not in (
            select deleted.person_hash from deleted
            where deleted.person_hash is not null
        )
),

-- the spells still open, and the latest boundary the history has recorded
-- noqa: disable=LT02
{% if is_incremental() %}

open_spells as (
    select * from {{ this }}
    where is_current
),

recorded as (
    select max(coalesce(valid_to, valid_from)) as recorded_until from {{ this }}
),

{% else %}

open_spells as (
    select
        cast(null as {{ dbt.type_string() }}) as spell_id,
        current_memberships.person_id,
        current_memberships.segment_family,
        current_memberships.segment_name,
        current_memberships.member_since_at,
        observation_window.observation_end_at as valid_from
    from current_memberships
    cross join observation_window
    where 1 = 0
),

recorded as (
    select cast(null as {{ dbt.type_timestamp() }}) as recorded_until
),

{% endif %}
-- noqa: enable=LT02

build_moment as (
    select observation_window.observation_end_at as moment
    from observation_window
    cross join recorded
    where
        recorded.recorded_until is null
        or observation_window.observation_end_at > recorded.recorded_until
),

opened as (
    select
        current_memberships.person_id,
        current_memberships.segment_family,
        current_memberships.segment_name,
        current_memberships.member_since_at,
        build_moment.moment as valid_from
    from current_memberships
    cross join build_moment
    left join open_spells
        on
            current_memberships.person_id = open_spells.person_id
            and current_memberships.segment_family = open_spells.segment_family
            and current_memberships.segment_name = open_spells.segment_name
    where open_spells.person_id is null
),

closed as (
    select
        open_spells.spell_id,
        open_spells.person_id,
        open_spells.segment_family,
        open_spells.segment_name,
        open_spells.member_since_at,
        open_spells.valid_from,
        build_moment.moment as valid_to
    from open_spells
    cross join build_moment
    left join current_memberships
        on
            open_spells.person_id = current_memberships.person_id
            and open_spells.segment_family = current_memberships.segment_family
            and open_spells.segment_name = current_memberships.segment_name
    where current_memberships.person_id is null
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'person_id', "'|'", 'segment_family', "'|'", 'segment_name', "'|'",
            dbt.safe_cast('valid_from', dbt.type_string())
        ])) }} as spell_id,
        person_id,
        segment_family,
        segment_name,
        member_since_at,
        valid_from,
        cast(null as {{ dbt.type_timestamp() }}) as valid_to,
        true as is_current
    from opened
    union all
    select
        spell_id,
        person_id,
        segment_family,
        segment_name,
        member_since_at,
        valid_from,
        valid_to,
        false as is_current
    from closed
)

select * from final
