{% macro privacy_exclusion_reason(time_column) %}
    {#-
        Why an accepted row (of a subject with no deletion request: see is_deleted_subject) must
        be kept out of everything downstream of staging, or null: 'after_observation_window' when
        time_column is at or after the end of as_of. Callers expose the observation window as a
        relation named observation_window.
    -#}
    case
        when {{ time_column }} >= observation_window.observation_end_at
            then 'after_observation_window'
    end
{% endmacro %}
