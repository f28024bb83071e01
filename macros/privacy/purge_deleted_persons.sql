{% macro purge_deleted_persons(person_column='person_id') %}
    {#-
        Pre-hook of the append-only logs: deletes the earlier rows of every person covered by a
        deletion request (int_privacy_deleted_subjects.person_hash, the salted hash of the person
        id each deleted id gave its person), so a deletion reaches the history too. Does nothing
        while the log does not exist yet or is rebuilt.
        The log must ref int_privacy_deleted_subjects itself, so it runs after the list.
    -#}
    {%- if is_incremental() %}
    delete from {{ this }}
    where {{ hash_pii(person_column) }} in (
        select deleted.person_hash from {{ ref('int_privacy_deleted_subjects') }} as deleted
    )
    {%- else %}
    select 1 as nothing_to_purge
    {%- endif %}
{% endmacro %}
