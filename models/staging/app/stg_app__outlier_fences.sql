{{ config(materialized='table') }}

-- Outlier fences of the events' numeric columns, one row per column and event type, over every
-- accepted event (see outlier_fences). A table rebuilt by the daily build from the whole
-- accepted history; the fast path and the incremental run neither read nor rebuild it, so they
-- never scan the history for it.
{{ outlier_fences(ref('stg_app__outlier_measurements')) }}
