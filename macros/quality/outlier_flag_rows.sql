{% macro outlier_flag_rows(relation, source_table, column, key_column, group_column=none,
                           subkey_column=none, fences='fences') %}
    {#-
        The rows of a staged relation whose value of one numeric column lies strictly outside
        the fences of its group (the judged rows of an outlier fences model, named by `fences`
        in the calling model): table, key, column, value, fences and side ('low', 'high'), with
        the raw file and row. A value exactly on a fence is inside; a null is never flagged.
    -#}
    {%- set value = 'cast(' ~ relation ~ '.' ~ column ~ ' as double precision)' -%}
    {%- set group = relation ~ '.' ~ group_column if group_column else "'all'" %}
    select
        '{{ source_table }}' as source_table,
        '{{ column }}' as column_name,
        {{ relation }}.{{ key_column }} as row_key,
        {%- if subkey_column %}
        {{ relation }}.{{ subkey_column }} as row_subkey,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as row_subkey,
        {%- endif %}
        {{ fences }}.value_group,
        {{ value }} as measured_value,
        {{ fences }}.lower_fence,
        {{ fences }}.upper_fence,
        case when {{ value }} < {{ fences }}.lower_fence then 'low' else 'high' end as outlier_side,
        {{ relation }}._source_file,
        {{ relation }}._source_row
    from {{ relation }}
    inner join {{ fences }}
        on
            {{ fences }}.source_table = '{{ source_table }}'
            and {{ fences }}.column_name = '{{ column }}'
            and {{ fences }}.value_group = {{ group }}
    where
        {{ fences }}.fence_status = 'judged'
        and ({{ value }} < {{ fences }}.lower_fence or {{ value }} > {{ fences }}.upper_fence)
{% endmacro %}
