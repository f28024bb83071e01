-- One row per session (data contract section 4): who, when, how long, what happened, and how the
-- visitor arrived (landing page, first- and last-touch channel and UTM within the session).
with

sessions as (
    select * from {{ ref('int_sessions_built') }}
)

select * from sessions
