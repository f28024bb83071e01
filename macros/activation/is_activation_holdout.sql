{% macro is_activation_holdout(person_id_expression) %}
    {#-
        True for a person in the activation holdout: the salted bucket of the person id
        (var('activation_holdout_salt')) falls below var('activation_holdout_share') of the
        65536 buckets. The same person is in or out on every build and every engine; the
        holdout never receives messages, personalized content, recommendations or audiences.
    -#}
    ({{ salted_bucket(person_id_expression, var('activation_holdout_salt')) }}
        < {{ (var('activation_holdout_share') * 65536) | round | int }})
{% endmacro %}
