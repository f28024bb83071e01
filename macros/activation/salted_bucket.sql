{% macro salted_bucket(expression, salt) %}
    {#-
        A deterministic bucket in [0, 65536) of a value: the first four hex digits of
        SHA-256(salt || value), read with dbt.position so that the SQL is the same on every
        engine. Null stays null. Used for the activation holdout; the salt makes the buckets
        independent of any other hash of the same ids.
    -#}
    {%- set salted = dbt.concat(["'" ~ (salt | replace("'", "''")) ~ "'", expression]) -%}
    {%- set digest = sha256_hex(salted) -%}
    (
        {%- for i in range(4) %}
        ({{ dbt.position("substr(" ~ digest ~ ", " ~ (i + 1) ~ ", 1)", "'0123456789abcdef'") }}
            - 1) * {{ 16 ** (3 - i) }}{% if not loop.last %} +{% endif %}
        {%- endfor %}
    )
{% endmacro %}
