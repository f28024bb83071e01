{% macro parse_amount(column) %}
    {#- A money amount as decimal(18, 2) (never double: sums must be reproducible); null if unparseable. -#}
    {{ dbt.safe_cast('trim(' ~ column ~ ')', 'decimal(18, 2)') }}
{% endmacro %}
