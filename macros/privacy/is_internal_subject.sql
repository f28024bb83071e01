{% macro is_internal_subject(column) %}
    {#-
        True when the id in `column` is an internal account or one of its devices
        (stg_crm__internal_ids, a small staging table): the privacy layer excludes such rows with
        the reason internal_account.
    -#}
    {{ column }} in (
        select internal_ids.subject_id from {{ ref('stg_crm__internal_ids') }} as internal_ids
    )
{% endmacro %}
