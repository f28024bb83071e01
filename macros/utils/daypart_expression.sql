{% macro daypart_expression(timestamp_column) %}
    {#- Part of the day of a UTC timestamp: night (22-05), morning (06-11), afternoon (12-17),
        evening (18-21). -#}
    {%- set hour = 'extract(hour from ' ~ timestamp_column ~ ')' -%}
    case
        when {{ hour }} >= 22 or {{ hour }} < 6 then 'night'
        when {{ hour }} < 12 then 'morning'
        when {{ hour }} < 18 then 'afternoon'
        else 'evening'
    end
{%- endmacro %}
