-- Every message a journey would have sent but did not (data contract): one row per message id
-- and reason, the person by salted hash only (person_hash, hash_pii of the person id). Reasons:
-- deleted, no_marketing_consent, no_personalization_consent, activation_holdout, cooldown,
-- goal_reached, frequency_cap (dropped), and quiet_hours (deferred, not dropped: the message is
-- in activation_outbox, due at deferred_to).
{{ config(tags=['realtime']) }}

with

journey_log as (
    select * from {{ ref('activation_journey_log') }}
),

final as (
    select
        message_id,
        person_hash,
        journey_id,
        step,
        channel,
        reason,
        scheduled_at,
        created_at as suppressed_at,
        decision_number,
        decision = 'sent' as is_deferred,
        case when decision = 'sent' then due_at end as deferred_to
    from journey_log
    where decision = 'suppressed' or reason = 'quiet_hours'
)

select * from final
