-- Accepted events of subjects without a deletion request, within as_of, with their person and
-- the reason, if any, the person's analytics consent keeps them out (int_person_consents: a
-- refusal on any of the person's ids keeps out every event of every device of the person):
-- analytics_consent_refused_by_person (a decision), region_default_refused (no decision, the
-- region is opt-in) or no_analytics_consent (no decision, the fallback default refuses).
-- Each event's person is the person of its user id when it has one (authoritative), else the
-- person of its anonymous id; events whose only ids are blocklisted have no person and follow
-- the fallback analytics default. One row per event_id.
{{ config(materialized='view') }}

with

checked as (
    select * from {{ ref('int_events_privacy_checked') }}
    where exclusion_reason is null
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

analytics_consents as (
    select * from {{ ref('int_person_consents') }}
    where purpose = 'analytics'
),

stitched as (
    select
        checked.event_id,
        checked.anonymous_id,
        checked.user_id,
        checked.visitor_id,
        checked.event_type,
        checked.event_type_raw,
        checked.occurred_at,
        checked.occurred_date,
        checked.page_url,
        checked.product_id,
        checked.category,
        checked.device_type,
        checked.channel,
        checked.utm_source,
        checked.utm_medium,
        checked.utm_campaign,
        checked.country,
        checked.city,
        checked.scroll_depth_pct,
        checked.engaged_seconds,
        checked.revenue,
        checked._source_file,
        checked._source_row,
        coalesce(by_user.person_id, by_anonymous_id.person_id) as person_id,
        coalesce(by_user.customer_id, by_anonymous_id.customer_id) as customer_id
    from checked
    left join resolved as by_user
        on
            checked.user_id = by_user.id_value
            and by_user.id_type = 'user_id'
    left join resolved as by_anonymous_id
        on
            checked.anonymous_id = by_anonymous_id.id_value
            and by_anonymous_id.id_type = 'anonymous_id'
),

final as (
    select
        stitched.*,
        case
            when coalesce(
                    analytics_consents.is_granted,
                    {{ consent_default("'analytics'", 'null') }}
                ) then null
            when analytics_consents.decision_basis = 'decision'
                then 'analytics_consent_refused_by_person'
            when analytics_consents.decision_basis = 'region_default'
                then 'region_default_refused'
            else 'no_analytics_consent'
        end as exclusion_reason
    from stitched
    left join analytics_consents
        on stitched.person_id = analytics_consents.person_id
)

select * from final
