{% macro is_deleted_subject(column) %}
    {#-
        True when the id in `column` is covered by a deletion request (int_privacy_deletion_ids:
        the requesting id and the ids of its person, never stored as raw ids): the privacy
        layer drops such rows, so nothing downstream of staging holds them.
    -#}
    {{ column }} in (select deletion_ids.subject_id from {{ ref('int_privacy_deletion_ids') }} as deletion_ids)
{% endmacro %}
