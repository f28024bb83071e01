-- The real-time window: events of the last realtime_recent_hours (or
-- rule_product_view_window_days, if longer) before the stream clock, with the person they
-- belong to, of persons whose latest analytics decision permits it (int_person_consents). The
-- stream clock (stream_clock_at) is the latest accepted event of an hour with at least
-- realtime_clock_min_hourly_events events (strays do not count), so the window follows the
-- data, not the wall clock, and events after the end of as_of (a day still filling up) count
-- here while the daily marts wait for as_of to move. The person comes from the daily identity
-- graph and the logins inside the window (see stitched below).
-- Strategy: a table over a bounded window, rebuilt every run. Its cost follows the window, not
-- the history, and it always equals a full build; consent withdrawals and deletions inside the
-- window take effect at once, which a delete+insert on new rows alone would miss.
{{ config(**realtime_config()) }}
{%- set window_hours = [var('realtime_recent_hours') | int,
                        (var('rule_product_view_window_days') | int) * 24] | max %}

{#- The clock, as one query: the model reads it as a CTE, and at run time it is also asked for
    first, so that the window start is written into the query as a constant too and DuckDB
    reads only the window's events instead of checking every event's privacy first. As a
    Snowflake dynamic table the constant only grows looser as the clock moves on: the CTE still
    decides. #}
{%- set clock_query %}
    select
        max(last_occurred_at) as stream_clock_at,
        {{ dbt.dateadd('hour', -1 * window_hours, 'max(last_occurred_at)') }}
            as window_start_at
    from (
        -- A stray timestamp (a device clock hours or days ahead, within the future tolerance)
        -- must not move the clock: only hours holding at least
        -- realtime_clock_min_hourly_events events count.
        select
            {{ dbt.date_trunc('hour', 'occurred_at') }} as event_hour,
            max(occurred_at) as last_occurred_at
        from {{ ref('stg_app__events') }}
        group by 1
        having count(*) >= {{ var('realtime_clock_min_hourly_events') }}
    ) as busy_hours
{%- endset %}
{%- set known_window_start = none %}
{%- if reads_real_tables([ref('stg_app__events')]) %}
{%- set known_window_start = run_query(clock_query).rows[0][1] %}
{%- endif %}

with

clock as (
    {{ clock_query }}
),

checked as (
    select * from {{ ref('int_events_privacy_checked') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

consents as (
    select * from {{ ref('int_person_consents') }}
),

-- Events of the window (also after the end of as_of: the stream runs ahead of the daily marts)
-- of subjects without a deletion request; ids on the blocklist are never resolved (as in the
-- identity graph).
windowed as (
    select
        checked.*,
        clock.stream_clock_at,
        case
            when lower(checked.user_id) not in (
                    {{ sql_string_list(var('identity_id_blocklist')) }}
                ) then checked.user_id
        end as linkable_user_id,
        case
            when lower(checked.anonymous_id) not in (
                    {{ sql_string_list(var('identity_id_blocklist')) }}
                ) then checked.anonymous_id
        end as linkable_anonymous_id
    from checked
    cross join clock
    where
        checked.occurred_at > clock.window_start_at
        {%- if known_window_start is not none %}
        and checked.occurred_at > cast('{{ known_window_start }}' as {{ dbt.type_timestamp() }})
        {%- endif %}
        and checked.occurred_at <= clock.stream_clock_at
),

-- A login inside the window links a device the daily graph knows without a customer (or not at
-- all) to its user at once: a device seen with exactly one user in the window belongs to that
-- user's person until the next daily build merges them for good.
window_logins as (
    select
        linkable_anonymous_id,
        min(linkable_user_id) as linkable_user_id
    from windowed
    where linkable_anonymous_id is not null and linkable_user_id is not null
    group by 1
    having count(distinct linkable_user_id) = 1
),

persons_of_ids as (
    select
        windowed.*,
        by_user.person_id as user_person_id,
        by_user.customer_id as user_customer_id,
        by_anonymous_id.person_id as device_person_id,
        by_anonymous_id.customer_id as device_customer_id,
        window_logins.linkable_user_id as login_user_id,
        by_login.person_id as login_person_id,
        by_login.customer_id as login_customer_id
    from windowed
    left join resolved as by_user
        on
            windowed.user_id = by_user.id_value
            and by_user.id_type = 'user_id'
    left join resolved as by_anonymous_id
        on
            windowed.anonymous_id = by_anonymous_id.id_value
            and by_anonymous_id.id_type = 'anonymous_id'
    left join window_logins
        on windowed.linkable_anonymous_id = window_logins.linkable_anonymous_id
    left join resolved as by_login
        on
            window_logins.linkable_user_id = by_login.id_value
            and by_login.id_type = 'user_id'
),

-- The person: the graph's person of the user id, else of the device when the graph links it to
-- a customer, else the person of the device's login in the window, else the graph's person of
-- the device; ids the graph has not met yet (it is rebuilt by the daily build) get the person
-- id the graph gives a lone id, so the next daily build keeps them unless a login merges them.
stitched as (
    select
        event_id,
        visitor_id,
        coalesce(
            user_person_id,
            case when device_customer_id is not null then device_person_id end,
            login_person_id,
            {{ dbt.hash(identity_node_label('user_id', 'login_user_id')) }},
            device_person_id,
            {{ dbt.hash(identity_node_label('user_id', 'linkable_user_id')) }},
            {{ dbt.hash(identity_node_label('anonymous_id', 'linkable_anonymous_id')) }}
        ) as person_id,
        coalesce(
            user_customer_id,
            device_customer_id,
            login_customer_id,
            login_user_id,
            linkable_user_id
        ) as customer_id,
        coalesce(
            device_person_id,
            {{ dbt.hash(identity_node_label('anonymous_id', 'linkable_anonymous_id')) }}
        ) as device_person_id,
        event_type,
        occurred_at,
        product_id,
        category,
        device_type,
        channel,
        stream_clock_at,
        _source_file
    from persons_of_ids
),

-- The person's latest analytics decision (int_person_consents, is_granted_latest), so a
-- revocation that lands in a new consent file counts at the next fast-path run; until the daily
-- build merges a device into its login's person, the device's own decision must permit too.
final as (
    select
        stitched.event_id,
        stitched.visitor_id,
        stitched.person_id,
        stitched.customer_id,
        stitched.event_type,
        stitched.occurred_at,
        stitched.product_id,
        stitched.category,
        stitched.device_type,
        stitched.channel,
        stitched.stream_clock_at,
        stitched._source_file
    from stitched
    left join consents
        on
            stitched.person_id = consents.person_id
            and consents.purpose = 'analytics'
    left join consents as device_consents
        on
            stitched.device_person_id = device_consents.person_id
            and device_consents.purpose = 'analytics'
    where
        coalesce(consents.is_granted_latest, {{ consent_default("'analytics'", 'null') }})
        and coalesce(
            device_consents.is_granted_latest, {{ consent_default("'analytics'", 'null') }}
        )
)

select * from final
