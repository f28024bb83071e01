{{ config(materialized='table') }}

-- One row per accepted event value outside its fence (stg_app__outlier_fences): the event id,
-- the column, the value and the fences. The events themselves stay accepted in stg_app__events,
-- untouched: flags live beside the incremental event tables, never inside them.
{{ outlier_flags(ref('stg_app__outlier_measurements'), ref('stg_app__outlier_fences')) }}
