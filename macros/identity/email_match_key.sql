{% macro email_local_part(column) %}
    {#-
        The local part (before the one '@') of a trimmed, lower-case e-mail; null unless the
        value holds exactly one '@' with text on both sides.
    -#}
    {%- set email = "nullif(lower(trim(" ~ column ~ ")), '')" -%}
    case
        when length({{ email }}) - length(replace({{ email }}, '@', '')) = 1
            then nullif({{ dbt.split_part(email, "'@'", 1) }}, '')
    end
{% endmacro %}

{% macro email_domain(column) %}
    {#- The domain (after the one '@') of a trimmed, lower-case e-mail; null as email_local_part. -#}
    {%- set email = "nullif(lower(trim(" ~ column ~ ")), '')" -%}
    case
        when length({{ email }}) - length(replace({{ email }}, '@', '')) = 1
            and nullif({{ dbt.split_part(email, "'@'", 1) }}, '') is not null
            then nullif({{ dbt.split_part(email, "'@'", 2) }}, '')
    end
{% endmacro %}

{% macro email_match_key(local_part, domain, strip_dots, strip_plus_tags) %}
    {#-
        The match key of an e-mail split by email_local_part / email_domain: local part '@'
        domain, with the '+tag' (from the first '+') and the dots of the local part removed
        when the provider ignores them (the boolean expressions strip_plus_tags and strip_dots,
        from the seed identity_email_domains); null when either part is missing or empties.
        replace and split_part only (no regex): the same on DuckDB and Snowflake, where
        split_part gives '' rather than null for a missing part (hence the nullif).
    -#}
    {%- set untagged = "case when " ~ strip_plus_tags ~ " then nullif("
        ~ dbt.split_part(local_part, "'+'", 1) ~ ", '') else " ~ local_part ~ " end" -%}
    {%- set undotted = "case when " ~ strip_dots ~ " then nullif(replace(" ~ untagged
        ~ ", '.', ''), '') else " ~ untagged ~ " end" -%}
    case
        when ({{ undotted }}) is not null and nullif({{ domain }}, '') is not null
            then {{ dbt.concat(["(" ~ undotted ~ ")", "'@'", domain]) }}
    end
{% endmacro %}
