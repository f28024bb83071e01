{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    pre_hook="{{ purge_deleted_persons(refused_purpose='marketing') }}",
    tags=['realtime'],
) }}

-- Every journey decision, append-only: one row per message a journey of
-- seeds/activation_journeys.csv (steps: seeds/activation_journey_steps.csv) sends or would send,
-- decided once. activation_outbox shows the sent rows, activation_suppressions the others.
-- Evaluated on every build, daily and fast path, against the decision clock (the stream clock:
-- the latest accepted event; the end of as_of without real-time events), never the wall clock.
--   entry: the person holds the trigger segment (segment_memberships: any family, e.g. a
--     real-time segment or a churn-risk tier) or did the trigger event in the real-time window,
--     and meets the journey's condition (condition_metric between its min and max);
--   episode: starts at the anchor (a real-time cart segment: the first open abandoned add; else
--     the moment the membership describes); a person is in at most one open episode per journey
--     (open: no goal event since its start and younger than episode_hours); re-entry: once,
--     per_episode (a new episode once the last one closed) or cooldown (cooldown_hours since the
--     last episode started; inside it the entry is a 'cooldown' suppression);
--   steps: step 1 when the wait has passed; step n when step n-1 was sent and its condition
--     window has passed: 'clicked_no_goal' = an email_click and no goal event within the window
--     after step n-1 (a goal event there: 'goal_reached'), 'no_click' = no click;
--   message_id: SHA-256 of journey, person, episode start and step, so re-running a build,
--     landing a file twice, a full refresh (the log keeps its history) or the fast path and the
--     daily build seeing the same episode give the same id, and an id is decided only once.
-- Checks in order, the first failing one is the suppression reason: 'deleted' (a deletion
-- request since the daily marts were built), 'no_marketing_consent' /
-- 'no_personalization_consent' (the step's required_purpose, int_person_consents),
-- 'activation_holdout', 'goal_reached', 'frequency_cap' (the journey's max_messages_per_day /
-- _week, and activation_max_messages_per_day / _week across journeys, counting sent messages
-- and this build's earlier ones), then 'quiet_hours': a message due in the person's local quiet
-- hours (activation_quiet_hours_start / _end, local time from the country's offset in
-- seeds/activation_country_utc_offsets.csv) is deferred to their end, not dropped (sent, with
-- the reason). A suppressed row holds the person only by hash (person_hash); a person who
-- refuses marketing later, or is deleted, has its sent rows purged (pre-hook).

with

journeys as (
    select * from {{ ref('activation_journeys') }}
),

journey_steps as (
    select * from {{ ref('activation_journey_steps') }}
),

memberships as (
    select * from {{ ref('segment_memberships') }}
),

realtime_segments as (
    select * from {{ ref('customer_realtime_segments') }}
),

realtime_events as (
    select * from {{ ref('int_realtime_events') }}
    where person_id is not null
),

person_orders as (
    select * from {{ ref('int_person_orders') }}
),

churn_scores as (
    select * from {{ ref('customer_churn_scores') }}
),

engagement as (
    select * from {{ ref('customer_engagement') }}
),

content_decisions as (
    select * from {{ ref('content_decisions') }}
),

consents as (
    select * from {{ ref('int_person_consents') }}
),

deleted as (
    select * from {{ ref('int_privacy_deleted_subjects') }}
),

persons as (
    select * from {{ ref('int_persons') }}
),

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

country_offsets as (
    select * from {{ ref('activation_country_utc_offsets') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

-- noqa: disable=LT02
{% if is_incremental() %}

history as (
    select * from {{ this }}
),

{% else %}

history as (
    select
        cast(null as {{ dbt.type_int() }}) as decision_number,
        cast(null as {{ dbt.type_string() }}) as message_id,
        cast(null as {{ dbt.type_string() }}) as person_id,
        cast(null as {{ dbt.type_string() }}) as person_hash,
        cast(null as {{ dbt.type_string() }}) as journey_id,
        cast(null as {{ dbt.type_int() }}) as step,
        cast(null as {{ dbt.type_string() }}) as channel,
        cast(null as {{ dbt.type_string() }}) as content_block_id,
        cast(null as {{ dbt.type_timestamp() }}) as episode_started_at,
        cast(null as {{ dbt.type_timestamp() }}) as scheduled_at,
        cast(null as {{ dbt.type_timestamp() }}) as due_at,
        cast(null as {{ dbt.type_string() }}) as decision,
        cast(null as {{ dbt.type_string() }}) as reason,
        cast(null as {{ dbt.type_timestamp() }}) as created_at
    from observation_window
    where 1 = 0
),

{% endif %}
-- noqa: enable=LT02

this_run as (
    select coalesce(max(decision_number), 0) + 1 as decision_number from history
),

decision_clock as (
    select
        coalesce(max(realtime_segments.evaluated_at), max(observation_window.observation_end_at))
            as clock_at
    from observation_window
    left join realtime_segments
        on 1 = 1
),

-- the condition metrics a journey can test (condition_metric)
person_metrics as (
    select
        person_id,
        'open_cart_value' as metric,
        open_abandoned_cart_value as metric_value
    from realtime_segments
    union all
    select
        person_id,
        'max_same_product_views_recent' as metric,
        max_same_product_views_recent as metric_value
    from realtime_segments
    union all
    select
        person_id,
        'churn_probability' as metric,
        churn_probability as metric_value
    from churn_scores
    union all
    select
        person_id,
        'engagement_score' as metric,
        engagement_score as metric_value
    from engagement
),

-- an episode starts when the membership did (segment_memberships.member_since_at: an open
-- cart from its first abandoned add)
segment_entries as (
    select
        memberships.person_id,
        journeys.journey_id,
        memberships.member_since_at as anchored_at
    from journeys
    inner join memberships
        on
            journeys.trigger_family = memberships.segment_family
            and journeys.trigger_segment = memberships.segment_name
    where journeys.trigger_type = 'segment'
),

event_entries as (
    select
        realtime_events.person_id,
        journeys.journey_id,
        max(realtime_events.occurred_at) as anchored_at
    from journeys
    inner join realtime_events
        on journeys.trigger_segment = realtime_events.event_type
    where journeys.trigger_type = 'event'
    group by realtime_events.person_id, journeys.journey_id
),

entries as (
    select * from segment_entries
    union all
    select * from event_entries
),

qualified_entries as (
    select
        entries.person_id,
        entries.journey_id,
        -- the moment the trigger describes, never after the clock (the daily families describe
        -- the end of as_of)
        least(entries.anchored_at, decision_clock.clock_at) as episode_started_at,
        {{ hash_pii('entries.person_id') }} as person_hash
    from entries
    inner join journeys
        on entries.journey_id = journeys.journey_id
    cross join decision_clock
    left join person_metrics
        on
            entries.person_id = person_metrics.person_id
            and journeys.condition_metric = person_metrics.metric
    where
        journeys.condition_metric is null
        or (
            coalesce(person_metrics.metric_value >= journeys.condition_min_value, true)
            and coalesce(person_metrics.metric_value <= journeys.condition_max_value, true)
            and person_metrics.metric_value is not null
        )
),

goal_events as (
    select
        person_id,
        'purchase' as goal_event,
        occurred_at as goal_at
    from realtime_events
    where event_type = 'purchase'
    union all
    select
        person_id,
        'purchase' as goal_event,
        ordered_at as goal_at
    from person_orders
    where status = 'completed'
),

clicks as (
    select
        person_id,
        occurred_at as clicked_at
    from realtime_events
    where event_type = 'email_click'
),

-- the episodes recorded so far: their start and whether they are still open
recorded_episodes as (
    select
        person_hash,
        journey_id,
        episode_started_at
    from history
    group by person_hash, journey_id, episode_started_at
),

-- the goal events by person hash, to close recorded episodes (history holds hashes only)
goal_events_hashed as (
    select
        {{ hash_pii('person_id') }} as person_hash,
        goal_event,
        goal_at
    from goal_events
),

episode_goals as (
    select
        recorded_episodes.person_hash,
        recorded_episodes.journey_id,
        recorded_episodes.episode_started_at,
        journeys.episode_hours,
        count(goal_events_hashed.goal_at) as goal_count
    from recorded_episodes
    inner join journeys
        on recorded_episodes.journey_id = journeys.journey_id
    left join goal_events_hashed
        on
            recorded_episodes.person_hash = goal_events_hashed.person_hash
            and journeys.goal_event = goal_events_hashed.goal_event
            and recorded_episodes.episode_started_at < goal_events_hashed.goal_at
    group by
        recorded_episodes.person_hash,
        recorded_episodes.journey_id,
        recorded_episodes.episode_started_at,
        journeys.episode_hours
),

episode_states as (
    select
        episode_goals.person_hash,
        episode_goals.journey_id,
        episode_goals.episode_started_at,
        episode_goals.goal_count = 0
        and decision_clock.clock_at < {{ dbt.dateadd('hour', 'episode_goals.episode_hours',
                                                    'episode_goals.episode_started_at') }}
            as is_open
    from episode_goals
    cross join decision_clock
),

previous_episodes as (
    select
        person_hash,
        journey_id,
        max(episode_started_at) as last_started_at,
        max(case when is_open then 1 else 0 end) = 1 as has_open_episode
    from episode_states
    group by person_hash, journey_id
),

-- a new episode: not recorded, no open episode, and the re-entry policy lets the person in
new_episodes as (
    select
        qualified_entries.person_id,
        qualified_entries.person_hash,
        qualified_entries.journey_id,
        qualified_entries.episode_started_at,
        case
            when
                journeys.reentry_policy = 'cooldown'
                and previous_episodes.last_started_at is not null
                and qualified_entries.episode_started_at < {{ dbt.dateadd(
                    'hour', 'journeys.cooldown_hours', 'previous_episodes.last_started_at') }}
                then 'cooldown'
        end as entry_suppression
    from qualified_entries
    inner join journeys
        on qualified_entries.journey_id = journeys.journey_id
    left join previous_episodes
        on
            qualified_entries.person_hash = previous_episodes.person_hash
            and qualified_entries.journey_id = previous_episodes.journey_id
    where
        not coalesce(previous_episodes.has_open_episode, false)
        and not (
            journeys.reentry_policy = 'once' and previous_episodes.last_started_at is not null
        )
        and not exists (
            select 1
            from recorded_episodes
            where
                recorded_episodes.person_hash = qualified_entries.person_hash
                and recorded_episodes.journey_id = qualified_entries.journey_id
                and recorded_episodes.episode_started_at = qualified_entries.episode_started_at
        )
),

entry_goals as (
    select
        new_episodes.person_id,
        new_episodes.journey_id,
        new_episodes.episode_started_at,
        count(goal_events.goal_at) as goal_count
    from new_episodes
    inner join journeys
        on new_episodes.journey_id = journeys.journey_id
    left join goal_events
        on
            new_episodes.person_id = goal_events.person_id
            and journeys.goal_event = goal_events.goal_event
            and new_episodes.episode_started_at < goal_events.goal_at
    group by new_episodes.person_id, new_episodes.journey_id, new_episodes.episode_started_at
),

first_step_candidates as (
    select
        new_episodes.person_id,
        new_episodes.person_hash,
        new_episodes.journey_id,
        new_episodes.episode_started_at,
        journey_steps.step,
        new_episodes.entry_suppression,
        {{ dbt.dateadd('hour', 'journey_steps.wait_hours', 'new_episodes.episode_started_at') }}
            as scheduled_at,
        entry_goals.goal_count > 0 as is_goal_reached
    from new_episodes
    inner join journey_steps
        on
            new_episodes.journey_id = journey_steps.journey_id
            and journey_steps.step = 1
    inner join entry_goals
        on
            new_episodes.person_id = entry_goals.person_id
            and new_episodes.journey_id = entry_goals.journey_id
            and new_episodes.episode_started_at = entry_goals.episode_started_at
),

-- later steps: the previous step was sent in an earlier build and its window has passed
sent_steps as (
    select * from history
    where decision = 'sent'
),

later_step_windows as (
    select
        sent_steps.person_id,
        sent_steps.person_hash,
        sent_steps.journey_id,
        sent_steps.episode_started_at,
        journey_steps.step,
        journey_steps.send_condition,
        sent_steps.due_at as previous_due_at,
        {{ dbt.dateadd('hour', 'journey_steps.condition_window_hours', 'sent_steps.due_at') }}
            as window_end_at
    from sent_steps
    inner join journey_steps
        on
            sent_steps.journey_id = journey_steps.journey_id
            and sent_steps.step + 1 = journey_steps.step
),

elapsed_windows as (
    select later_step_windows.*
    from later_step_windows
    cross join decision_clock
    where decision_clock.clock_at >= later_step_windows.window_end_at
),

-- the goal events and the clicks within each elapsed window (only whether any: the two joins
-- multiply rows, the counts only tell zero from more)
window_evidence as (
    select
        elapsed_windows.person_hash,
        elapsed_windows.journey_id,
        elapsed_windows.episode_started_at,
        elapsed_windows.step,
        count(goal_events.goal_at) > 0 as is_goal_reached,
        count(clicks.clicked_at) > 0 as has_clicked
    from elapsed_windows
    inner join journeys
        on elapsed_windows.journey_id = journeys.journey_id
    left join goal_events
        on
            elapsed_windows.person_id = goal_events.person_id
            and journeys.goal_event = goal_events.goal_event
            and elapsed_windows.episode_started_at < goal_events.goal_at
            and elapsed_windows.window_end_at >= goal_events.goal_at
    left join clicks
        on
            elapsed_windows.person_id = clicks.person_id
            and elapsed_windows.previous_due_at < clicks.clicked_at
            and elapsed_windows.window_end_at >= clicks.clicked_at
    group by
        elapsed_windows.person_hash,
        elapsed_windows.journey_id,
        elapsed_windows.episode_started_at,
        elapsed_windows.step
),

later_step_candidates as (
    select
        elapsed_windows.person_id,
        elapsed_windows.person_hash,
        elapsed_windows.journey_id,
        elapsed_windows.episode_started_at,
        elapsed_windows.step,
        elapsed_windows.send_condition,
        cast(null as {{ dbt.type_string() }}) as entry_suppression,
        elapsed_windows.window_end_at as scheduled_at,
        window_evidence.is_goal_reached,
        window_evidence.has_clicked
    from elapsed_windows
    inner join window_evidence
        on
            elapsed_windows.person_hash = window_evidence.person_hash
            and elapsed_windows.journey_id = window_evidence.journey_id
            and elapsed_windows.episode_started_at = window_evidence.episode_started_at
            and elapsed_windows.step = window_evidence.step
),

step_candidates as (
    select
        person_id,
        person_hash,
        journey_id,
        episode_started_at,
        step,
        entry_suppression,
        scheduled_at,
        is_goal_reached
    from first_step_candidates
    union all
    select
        person_id,
        person_hash,
        journey_id,
        episode_started_at,
        step,
        entry_suppression,
        scheduled_at,
        is_goal_reached
    from later_step_candidates
    where
        is_goal_reached
        or (send_condition = 'clicked_no_goal' and has_clicked)
        or (send_condition = 'no_click' and not has_clicked)
        or send_condition = 'always'
),

-- due now (the wait has passed) and not decided before
due_candidates as (
    select
        step_candidates.*,
        decision_clock.clock_at,
        {{ sha256_hex(dbt.concat([
            "step_candidates.journey_id", "'|'", "step_candidates.person_id", "'|'",
            dbt.datediff("cast('1970-01-01' as " ~ dbt.type_timestamp() ~ ")",
                         'step_candidates.episode_started_at', 'second'),
            "'|'", "step_candidates.step",
        ])) }} as message_id
    from step_candidates
    cross join decision_clock
    where step_candidates.scheduled_at <= decision_clock.clock_at
),

undecided as (
    select *
    from due_candidates
    where not exists (
            select 1 from history
            where history.message_id = due_candidates.message_id
        )
),

person_countries as (
    select
        persons.person_id,
        country_offsets.utc_offset_hours
    from persons
    inner join customers
        on persons.customer_id = customers.customer_id
    inner join country_offsets
        on customers.country = country_offsets.country
),

checked as (
    select
        undecided.message_id,
        undecided.person_id,
        undecided.person_hash,
        undecided.journey_id,
        undecided.step,
        journey_steps.channel,
        journeys.priority as journey_priority,
        journey_steps.required_purpose,
        undecided.episode_started_at,
        undecided.scheduled_at,
        undecided.clock_at as due_at,
        person_countries.utc_offset_hours,
        cast(coalesce(person_countries.utc_offset_hours, 0) * 60 as {{ dbt.type_int() }})
            as utc_offset_minutes,
        coalesce(journey_steps.content_block_id, content_decisions.content_block_id)
            as content_block_id,
        case
            when undecided.person_hash in (
                    select deleted.person_hash from deleted
                    where deleted.person_hash is not null
                ) then 'deleted'
            when not coalesce(
                    consents.is_granted_latest,
                    {{ consent_default('journey_steps.required_purpose', 'null') }}
                )
                then {{ dbt.concat(["'no_'", "journey_steps.required_purpose", "'_consent'"]) }}
            when {{ is_activation_holdout('undecided.person_id') }} then 'activation_holdout'
            when undecided.entry_suppression is not null then undecided.entry_suppression
            when undecided.is_goal_reached then 'goal_reached'
        end as check_failed
    from undecided
    inner join journeys
        on undecided.journey_id = journeys.journey_id
    inner join journey_steps
        on
            undecided.journey_id = journey_steps.journey_id
            and undecided.step = journey_steps.step
    left join consents
        on
            undecided.person_id = consents.person_id
            and journey_steps.required_purpose = consents.purpose
    left join content_decisions
        on
            undecided.person_id = content_decisions.person_id
            and journey_steps.content_slot = content_decisions.slot
    left join person_countries
        on undecided.person_id = person_countries.person_id
),

-- frequency caps: sent messages of the last day / week before the message, plus this build's
-- messages ranked before it (journey priority, step, message id)
passing as (
    select
        *,
        row_number() over (
            partition by person_hash
            order by journey_priority, step, message_id
        ) as person_rank,
        row_number() over (
            partition by person_hash, journey_id
            order by step, message_id
        ) as journey_rank
    from checked
    where check_failed is null
),

sent_counts as (
    select
        passing.message_id,
        sum(case
            when sent_steps.due_at > {{ dbt.dateadd('day', -1, 'passing.due_at') }} then 1 else 0
        end) as sent_day,
        sum(case
            when sent_steps.due_at > {{ dbt.dateadd('day', -7, 'passing.due_at') }} then 1 else 0
        end) as sent_week,
        sum(case
            when
                sent_steps.journey_id = passing.journey_id
                and sent_steps.due_at > {{ dbt.dateadd('day', -1, 'passing.due_at') }}
                then 1
            else 0
        end) as journey_sent_day,
        sum(case
            when
                sent_steps.journey_id = passing.journey_id
                and sent_steps.due_at > {{ dbt.dateadd('day', -7, 'passing.due_at') }}
                then 1
            else 0
        end) as journey_sent_week
    from passing
    left join sent_steps
        on passing.person_hash = sent_steps.person_hash
    group by passing.message_id
),

capped as (
    select
        passing.message_id,
        coalesce(sent_counts.sent_day, 0) + passing.person_rank as messages_day,
        coalesce(sent_counts.sent_week, 0) + passing.person_rank as messages_week,
        coalesce(sent_counts.journey_sent_day, 0) + passing.journey_rank as journey_messages_day,
        coalesce(sent_counts.journey_sent_week, 0) + passing.journey_rank
            as journey_messages_week
    from passing
    inner join sent_counts
        on passing.message_id = sent_counts.message_id
),

decided as (
    select
        checked.*,
        case
            when checked.check_failed is not null then checked.check_failed
            when
                capped.messages_day > {{ var('activation_max_messages_per_day') }}
                or capped.messages_week > {{ var('activation_max_messages_per_week') }}
                or capped.journey_messages_day > journeys.max_messages_per_day
                or capped.journey_messages_week > journeys.max_messages_per_week
                then 'frequency_cap'
        end as suppression_reason,
        {{ dbt.dateadd('minute', 'checked.utc_offset_minutes', 'checked.due_at') }}
            as local_due_at
    from checked
    inner join journeys
        on checked.journey_id = journeys.journey_id
    left join capped
        on checked.message_id = capped.message_id
),

-- quiet hours: a message due in the person's local quiet hours waits for their end (persons
-- whose country is unknown are not deferred)
scheduled as (
    select
        *,
        extract(hour from local_due_at) as local_due_hour,
        {{ dbt.dateadd(
            'minute',
            (var('activation_quiet_hours_end') * 60) ~ ' - decided.utc_offset_minutes',
            dbt.date_trunc('day', 'decided.local_due_at'),
        ) }} as quiet_end_same_day_at
    from decided
),

final as (
    select
        this_run.decision_number,
        scheduled.message_id,
        scheduled.person_hash,
        scheduled.journey_id,
        scheduled.step,
        scheduled.channel,
        scheduled.content_block_id,
        scheduled.episode_started_at,
        scheduled.scheduled_at,
        case
            when scheduled.suppression_reason is null then scheduled.person_id
        end as person_id,
        case
            when scheduled.suppression_reason is not null then scheduled.due_at
            when
                scheduled.utc_offset_hours is null
                or scheduled.channel not in ({{ sql_string_list(
                    var('activation_quiet_hours_channels')) }})
                then scheduled.due_at
            when scheduled.local_due_hour >= {{ var('activation_quiet_hours_start') }}
                then {{ dbt.dateadd('day', 1, 'scheduled.quiet_end_same_day_at') }}
            when scheduled.local_due_hour < {{ var('activation_quiet_hours_end') }}
                then scheduled.quiet_end_same_day_at
            else scheduled.due_at
        end as due_at,
        case when scheduled.suppression_reason is null then 'sent' else 'suppressed' end
            as decision,
        coalesce(
            scheduled.suppression_reason,
            case
                when
                    scheduled.utc_offset_hours is not null
                    and scheduled.channel in ({{ sql_string_list(
                        var('activation_quiet_hours_channels')) }})
                    and (
                        scheduled.local_due_hour >= {{ var('activation_quiet_hours_start') }}
                        or scheduled.local_due_hour < {{ var('activation_quiet_hours_end') }}
                    )
                    then 'quiet_hours'
            end
        ) as reason,
        scheduled.due_at as created_at
    from scheduled
    cross join this_run
)

select * from final
