{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    pre_hook="{{ purge_deleted_persons(refused_purpose='marketing') }}",
    tags=['realtime'],
) }}

-- Segment entries and exits for activation tools to poll: each build compares every person's
-- memberships in segment_memberships (rule flags, RFM segment, engagement tier, cluster, and the
-- real-time segments, family 'realtime') with the state this table has recorded so far
-- and appends one row per change (entered / exited), numbered by build (change_number) and
-- stamped with the moment the segments describe (changed_at, from the data: the end of as_of for
-- the daily families, the stream clock for 'realtime'). Re-running a build on unchanged data
-- appends nothing. The real-time fast path (`--selector realtime`) rebuilds only the real-time
-- segments, so only they change between daily builds. A --full-refresh keeps the history
-- (full_refresh=false): activation tools have read it; drop the table to start again.
-- Consent (int_person_consents, the latest decision): only persons whose marketing consent is in
-- force have changes recorded, and a person who refuses (or revokes) marketing has its earlier
-- rows purged, so the feed never holds a person who refused (audience_suppressions lists it by
-- hash; a later grant starts it afresh with entries). A deletion request purges the person too
-- (pre-hook purge_deleted_persons).
with

memberships as (
    select * from {{ ref('segment_memberships') }}
),

consents as (
    select * from {{ ref('int_person_consents') }}
),

deleted as (
    select * from {{ ref('int_privacy_deleted_subjects') }}
),

-- the families activation tools have polled since the log began (the churn tier and primary
-- rule families of segment_memberships are read there directly)
current_memberships as (
    select
        person_id,
        segment_family,
        segment_name
    from memberships
    where segment_family in ('rule', 'rfm', 'engagement_tier', 'cluster', 'realtime')
),

-- The state so far: the last change of every membership (sqlfluff cannot lay out both
-- branches of the incremental switch at once).
-- noqa: disable=LT02
{% if is_incremental() %}

history as (
    select * from {{ this }}
),

latest_changes as (
    select
        person_id,
        segment_family,
        segment_name,
        change_type,
        row_number() over (
            partition by person_id, segment_family, segment_name
            order by change_number desc
        ) as recency_rank
    from history
),

previous_memberships as (
    select
        person_id,
        segment_family,
        segment_name
    from latest_changes
    where recency_rank = 1 and change_type = 'entered'
),

this_run as (
    select coalesce(max(change_number), 0) + 1 as change_number from history
),

{% else %}

previous_memberships as (
    select
        person_id,
        segment_family,
        segment_name
    from current_memberships
    where 1 = 0
),

this_run as (
    select 1 as change_number
),

{% endif %}
-- noqa: enable=LT02

entered as (
    select
        person_id,
        segment_family,
        segment_name,
        'entered' as change_type
    from (
        select
            person_id,
            segment_family,
            segment_name
        from current_memberships
        except
        select
            person_id,
            segment_family,
            segment_name
        from previous_memberships
    ) as new_memberships
),

exited as (
    select
        person_id,
        segment_family,
        segment_name,
        'exited' as change_type
    from (
        select
            person_id,
            segment_family,
            segment_name
        from previous_memberships
        except
        select
            person_id,
            segment_family,
            segment_name
        from current_memberships
    ) as ended_memberships
),

all_changes as (
    select * from entered
    union all
    select * from exited
),

-- persons activation may contact: the latest marketing decision (or the fallback default for a
-- person the consents do not know), and no deletion request (the daily marts may still hold a
-- person whose request landed since)
changes as (
    select all_changes.*
    from all_changes
    left join consents
        on
            all_changes.person_id = consents.person_id
            and consents.purpose = 'marketing'
    where
        coalesce(consents.is_granted_latest, {{ consent_default("'marketing'", 'null') }})
        and {{ hash_pii('all_changes.person_id') }} not in (
            select deleted.person_hash from deleted
            where deleted.person_hash is not null
        )
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

stream_clock as (
    select max(evaluated_at) as evaluated_at from memberships
    where segment_family = 'realtime'
),

final as (
    select
        this_run.change_number,
        changes.person_id,
        changes.segment_family,
        changes.segment_name,
        changes.change_type,
        case
            when changes.segment_family = 'realtime'
                then coalesce(stream_clock.evaluated_at, observation_window.observation_end_at)
            else observation_window.observation_end_at
        end as changed_at
    from changes
    cross join this_run
    cross join observation_window
    cross join stream_clock
)

select * from final
