{% macro delete_changed_visitors(time_column) %}
    {#-
        Pre-hook of the incremental sessions models (int_events_sessionized, int_sessions_built):
        in an incremental run, delete the stored rows of every visitor in
        int_events_visitors_changed from its rebuild_from_at on, so that
        the run's rows (everything those visitors have from then on) replace them, and a visitor
        with no events left is gone. time_column: the row's time (occurred_at, started_at).
    -#}
    {%- if is_incremental() %}
    delete from {{ this }}
    using {{ ref('int_events_visitors_changed') }} as changed
    where
        {{ this.identifier }}.visitor_id = changed.visitor_id
        and {{ this.identifier }}.{{ time_column }} >= changed.rebuild_from_at
    {%- endif %}
{% endmacro %}
