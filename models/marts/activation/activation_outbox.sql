-- The messages to deliver (data contract, activation_outbox): one row per message, append-only
-- (the sent decisions of activation_journey_log), with its deterministic message_id (journey,
-- person, episode start, step). No person without marketing consent, in the activation holdout
-- or deleted: those are in activation_suppressions. The delivery command
-- (`python -m python_utils deliver`) sends the due ones with message_id as idempotency key.
{{ config(tags=['realtime']) }}

with

journey_log as (
    select * from {{ ref('activation_journey_log') }}
),

final as (
    select
        message_id,
        person_id,
        journey_id,
        step,
        channel,
        content_block_id,
        due_at,
        created_at,
        decision_number
    from journey_log
    where decision = 'sent'
)

select * from final
