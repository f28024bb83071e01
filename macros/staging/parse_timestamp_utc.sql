{% macro parse_timestamp_utc(column) %}
    {#-
        A raw timestamp (ISO-8601 string or native timestamp, cast to string in the landing
        views) as a UTC timestamp without time zone. A string with an offset (+02:00, Z) is
        converted to UTC; one without an offset is taken as UTC. Unparseable input gives null.
    -#}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'segments')(column)) }}
{% endmacro %}

{% macro default__parse_timestamp_utc(column) %}
    case
        when regexp_like(trim({{ column }}), '.*([+-][0-9]{2}(:?[0-9]{2})?|[zZ])$')
            then convert_timezone('UTC', try_to_timestamp_tz(trim({{ column }})))::timestamp_ntz
        else try_to_timestamp_ntz(trim({{ column }}))
    end
{% endmacro %}

{% macro duckdb__parse_timestamp_utc(column) %}
    {#- The session time zone is UTC (profile setting), so a string without offset is UTC. -#}
    timezone('UTC', try_cast(trim({{ column }}) as timestamptz))
{% endmacro %}

{% macro snowflake__parse_timestamp_utc(column) %}
    {%- if fakesnow_shims_enabled() -%}
        {{ fakesnow_parse_timestamp_utc(column) }}
    {%- else -%}
        {{ default__parse_timestamp_utc(column) }}
    {%- endif -%}
{% endmacro %}
