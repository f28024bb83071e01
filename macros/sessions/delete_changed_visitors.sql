{% macro delete_changed_visitors() %}
    {#-
        Pre-hook of the incremental sessions models (int_events_sessionized, int_sessions_built):
        in an incremental run, delete the stored rows of every visitor in
        int_events_visitors_changed, so that the run's rows (every event or session those
        visitors have now) replace them whole, and a visitor with no events left is gone.
    -#}
    {%- if is_incremental() %}
    delete from {{ this }}
    where visitor_id in (select visitor_id from {{ ref('int_events_visitors_changed') }})
    {%- endif %}
{% endmacro %}
