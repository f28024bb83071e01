{% macro privacy_exclusion_reason(id_columns, time_column=none) %}
    {#-
        Why a row must be kept out of everything downstream of staging, or null:
        'deletion_request' when any of id_columns belongs to int_privacy_deleted_subjects,
        'after_observation_window' when time_column is at or after the end of as_of.
        Callers expose the observation window as a relation named observation_window.
    -#}
    case
        {%- for column in id_columns %}
        when {{ column }} in (
            select deleted.subject_id from {{ ref('int_privacy_deleted_subjects') }} as deleted
        ) then 'deletion_request'
        {%- endfor %}
        {%- if time_column %}
        when {{ time_column }} >= observation_window.observation_end_at
            then 'after_observation_window'
        {%- endif %}
    end
{% endmacro %}
