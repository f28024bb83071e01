{% macro pii_salt(demo_default=false) %}
    {#-
        The salt hash_pii puts before every PII value: the environment variable
        SEGMENTS_PII_SALT, else the built-in demo salt (public: in this repository). With
        demo_default=true, the demo salt itself (check_pii_salt compares against it).
    -#}
    {%- set demo_salt = 'segments-demo-salt' -%}
    {{ return(demo_salt if demo_default else env_var('SEGMENTS_PII_SALT', demo_salt)) }}
{% endmacro %}
