{% macro privacy_exclusion_reason(time_column, id_columns=[]) %}
    {#-
        Why an accepted row (of a subject with no deletion request: see is_deleted_subject) must
        be kept out of everything downstream of staging, or null: 'after_observation_window' when
        time_column is at or after the end of as_of; 'internal_account' when one of the
        id_columns is an internal account or its device (is_internal_subject). Callers expose the
        observation window as a relation named observation_window.
    -#}
    case
        when {{ time_column }} >= observation_window.observation_end_at
            then 'after_observation_window'
        {%- if id_columns %}
        when
            {%- for column in id_columns %}
            {{ 'or ' if not loop.first }}coalesce({{ is_internal_subject(column) }}, false)
            {%- endfor %}
            then 'internal_account'
        {%- endif %}
    end
{% endmacro %}
