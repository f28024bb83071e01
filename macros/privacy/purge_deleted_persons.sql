{% macro purge_deleted_persons(person_column='person_id', refused_purpose=none) %}
    {#-
        Pre-hook of the append-only logs: deletes the earlier rows of every person covered by a
        deletion request (int_privacy_deleted_subjects.person_hash, the salted hash of the person
        id each deleted id gave its person), so a deletion reaches the history too; with
        refused_purpose (e.g. 'marketing' for a feed activation tools read), also the rows of
        every person whose latest decision for that purpose is a refusal (int_person_consents),
        so the feed never holds a person who refused. Does nothing while the log does not exist
        yet or is rebuilt. The log must ref the models named here itself, so it runs after them.
    -#}
    {%- if is_incremental() %}
    delete from {{ this }}
    where {{ hash_pii(person_column) }} in (
        select deleted.person_hash from {{ ref('int_privacy_deleted_subjects') }} as deleted
        where deleted.person_hash is not null
    )
    {%- if refused_purpose %}
        or {{ person_column }} in (
            select consents.person_id from {{ ref('int_person_consents') }} as consents
            where consents.purpose = '{{ refused_purpose }}' and not consents.is_granted_latest
        )
    {%- endif %}
    {%- else %}
    select 1 as nothing_to_purge
    {%- endif %}
{% endmacro %}
