-- Experiment units with what the readouts need, one row per person and experiment: the
-- assignments of experiment_assignments (int_experiment_units_resolved) and the activation
-- holdout (activation_holdout_assignments: 'holdout' against 'activated', from the person's
-- first activity), each person exposed at its first assignment.
-- is_unit: the person counts (exclusion_reason null); excluded persons keep only their
-- exposure and reason, no behaviour. Segments are taken before the exposure, never after, so a
-- treatment cannot move its own units between them: buyer_status_at_assignment
-- ('returning_buyer': a completed order before the exposure, else 'prospect'), and the device
-- and channel of the assigning session (the person's latest session started at or before the
-- exposure; 'unknown' with none). Metrics over the attribution window
-- [assigned_at, assigned_at + var('experiment_attribution_days')): has_converted (a completed
-- order), revenue (completed orders' winsorised_total_amount: an outlier order counts at its
-- fence, so one extreme basket cannot swamp a readout; zero without), session_count (sessions
-- started); the same over the pre-period of var('experiment_cuped_days') days before the
-- exposure (pre_*), the CUPED covariates. is_window_complete: the window ended by the end of
-- as_of; units whose window is still open are counted but left out of the estimates.
with

assigned as (
    select * from {{ ref('int_experiment_units_resolved') }}
),

holdout as (
    select * from {{ ref('activation_holdout_assignments') }}
),

persons as (
    select * from {{ ref('int_persons') }}
),

analytics_consents as (
    select * from {{ ref('int_person_consents') }}
    where purpose = 'analytics'
),

sessions as (
    select * from {{ ref('sessions') }}
    where person_id is not null
),

orders as (
    select * from {{ ref('int_person_orders') }}
    where status = 'completed'
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

exposures as (
    select
        person_id,
        experiment_id,
        variant,
        assigned_at,
        'experiment_assignments' as assignment_source,
        assignment_count,
        variant_count,
        exclusion_reason
    from assigned
    union all
    select
        holdout.person_id,
        holdout.experiment_id,
        holdout.variant,
        holdout.assigned_at,
        'activation_holdout' as assignment_source,
        1 as assignment_count,
        1 as variant_count,
        case
            when not coalesce(analytics_consents.is_granted, false) then 'no_analytics_consent'
        end as exclusion_reason
    from holdout
    left join analytics_consents
        on holdout.person_id = analytics_consents.person_id
),

units as (
    select
        *,
        {{ dbt.dateadd('day', var('experiment_attribution_days'), 'assigned_at') }}
            as window_ends_at,
        {{ dbt.dateadd('day', -1 * var('experiment_cuped_days'), 'assigned_at') }}
            as pre_period_starts_at
    from exposures
    where exclusion_reason is null
),

-- the assigning session: the latest one started at or before the exposure
assigning_sessions as (
    select
        units.person_id,
        units.experiment_id,
        sessions.device_type,
        sessions.channel,
        row_number() over (
            partition by units.person_id, units.experiment_id
            order by sessions.started_at desc, sessions.session_id asc
        ) as session_rank
    from units
    inner join sessions
        on
            units.person_id = sessions.person_id
            and units.assigned_at >= sessions.started_at
),

-- each of the unit's completed orders placed against its exposure
unit_orders as (
    select
        units.person_id,
        units.experiment_id,
        orders.winsorised_total_amount as amount,
        orders.ordered_at < units.assigned_at as is_before_exposure,
        orders.ordered_at >= units.assigned_at
        and orders.ordered_at < units.window_ends_at as is_in_window,
        orders.ordered_at >= units.pre_period_starts_at
        and orders.ordered_at < units.assigned_at as is_in_pre_period
    from units
    inner join orders
        on units.person_id = orders.person_id
),

order_metrics as (
    select
        person_id,
        experiment_id,
        max(case when is_before_exposure then 1 else 0 end) as is_returning_buyer,
        max(case when is_in_window then 1 else 0 end) as has_converted,
        sum(case when is_in_window then amount else 0 end) as revenue,
        max(case when is_in_pre_period then 1 else 0 end) as pre_has_converted,
        sum(case when is_in_pre_period then amount else 0 end) as pre_revenue
    from unit_orders
    group by person_id, experiment_id
),

session_metrics as (
    select
        units.person_id,
        units.experiment_id,
        sum(case when sessions.started_at >= units.assigned_at then 1 else 0 end)
            as session_count,
        sum(case when sessions.started_at < units.assigned_at then 1 else 0 end)
            as pre_session_count
    from units
    inner join sessions
        on
            units.person_id = sessions.person_id
            and units.pre_period_starts_at <= sessions.started_at
            and units.window_ends_at > sessions.started_at
    group by units.person_id, units.experiment_id
),

-- what the readouts need of every unit (excluded persons get none of it)
unit_measures as (
    select
        units.person_id,
        units.experiment_id,
        units.window_ends_at,
        units.window_ends_at <= observation_window.observation_end_at as is_window_complete,
        case
            when coalesce(order_metrics.is_returning_buyer, 0) = 1 then 'returning_buyer'
            else 'prospect'
        end as buyer_status_at_assignment,
        coalesce(assigning_sessions.device_type, 'unknown') as device_at_assignment,
        coalesce(assigning_sessions.channel, 'unknown') as channel_at_assignment,
        coalesce(order_metrics.has_converted, 0) as has_converted,
        coalesce(order_metrics.revenue, 0) as revenue,
        coalesce(session_metrics.session_count, 0) as session_count,
        coalesce(order_metrics.pre_has_converted, 0) as pre_has_converted,
        coalesce(order_metrics.pre_revenue, 0) as pre_revenue,
        coalesce(session_metrics.pre_session_count, 0) as pre_session_count
    from units
    cross join observation_window
    left join assigning_sessions
        on
            units.person_id = assigning_sessions.person_id
            and units.experiment_id = assigning_sessions.experiment_id
            and assigning_sessions.session_rank = 1
    left join order_metrics
        on
            units.person_id = order_metrics.person_id
            and units.experiment_id = order_metrics.experiment_id
    left join session_metrics
        on
            units.person_id = session_metrics.person_id
            and units.experiment_id = session_metrics.experiment_id
),

final as (
    select
        exposures.person_id,
        exposures.experiment_id,
        exposures.variant,
        exposures.assigned_at,
        exposures.assignment_source,
        exposures.assignment_count,
        exposures.variant_count,
        exposures.exclusion_reason,
        persons.customer_id,
        unit_measures.window_ends_at,
        unit_measures.is_window_complete,
        unit_measures.buyer_status_at_assignment,
        unit_measures.device_at_assignment,
        unit_measures.channel_at_assignment,
        unit_measures.has_converted,
        unit_measures.revenue,
        unit_measures.session_count,
        unit_measures.pre_has_converted,
        unit_measures.pre_revenue,
        unit_measures.pre_session_count,
        exposures.exclusion_reason is null as is_unit
    from exposures
    left join unit_measures
        on
            exposures.person_id = unit_measures.person_id
            and exposures.experiment_id = unit_measures.experiment_id
    left join persons
        on exposures.person_id = persons.person_id
)

select * from final
