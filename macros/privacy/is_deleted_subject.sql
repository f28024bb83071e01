{% macro is_deleted_subject(column) %}
    {#-
        True when the id in `column` is covered by a deletion request (stg_privacy__deletion_ids:
        the requesting id and the ids of its person, a small staging table): the privacy layer
        drops such rows, so nothing downstream of staging holds them.
    -#}
    {{ column }} in (
        select deletion_ids.subject_id from {{ ref('stg_privacy__deletion_ids') }} as deletion_ids
    )
{% endmacro %}
