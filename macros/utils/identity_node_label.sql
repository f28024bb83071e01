{% macro identity_node_label(id_type, column) %}
    {#-
        The identity graph's label of an id: '0' + the id for a user id, '1' + the id for an
        anonymous id, so that labels order users first and a person's label is its smallest
        user id. The person id of an id is the hash of its component's smallest label
        (int_identity_resolved); an id alone in its component gets hash(identity_node_label).
    -#}
    {%- if id_type == 'user_id' -%}
        {{ dbt.concat(["'0'", column]) }}
    {%- elif id_type == 'anonymous_id' -%}
        {{ dbt.concat(["'1'", column]) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("identity_node_label: id_type must be user_id or anonymous_id, not " ~ id_type) }}
    {%- endif -%}
{% endmacro %}
