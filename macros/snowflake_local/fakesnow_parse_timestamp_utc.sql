{% macro fakesnow_parse_timestamp_utc(column) %}
    {#-
        Shim for the local fakesnow target only (never sent to Snowflake): fakesnow evaluates
        try_to_timestamp_tz / try_to_timestamp_ntz only on literals, and its
        try_cast(... as timestamp_ntz) raises on unparseable text, while
        try_cast(... as timestamp_tz) behaves (null when unparseable, UTC without an offset).
    -#}
    convert_timezone('UTC', try_cast(trim({{ column }}) as timestamp_tz))::timestamp_ntz
{% endmacro %}
