-- One row per session (data contract section 4): who, when, how long, what happened, and how the
-- visitor arrived (landing page, first- and last-touch channel and UTM within the session).
-- A view of the incremental int_sessions_built: no second copy to keep up to date.
{{ config(materialized='view') }}

with

sessions as (
    select * from {{ ref('int_sessions_built') }}
)

select * from sessions
