{% test business_gates_pass(model, severity_level, gate_class='business') %}
    {#-
        Fails (at the test's configured severity) on the rows of a gate-results model
        (business_gate_results) with status 'fail', the given severity ('error' or 'warn') and
        gate_class. Each failing gate's message (subject, value, threshold, setting to change) is
        printed in the build log, so the failure says what to do without a query.
    -#}
    {%- set condition -%}
        status = 'fail' and severity = '{{ severity_level }}' and gate_class = '{{ gate_class }}'
    {%- endset -%}
    {%- if reads_real_tables([model]) %}
        {%- set failed = run_query('select gate_id, message from ' ~ model ~ ' where '
            ~ condition ~ ' order by gate_id') %}
        {%- for row in failed.rows %}
            {%- do log(('Business gate' if gate_class == 'business' else 'Integrity check')
                ~ ' failed (' ~ severity_level ~ '): ' ~ row[1], info=true) %}
        {%- endfor %}
    {%- endif %}
    select
        gate_id,
        message
    from {{ model }}
    where {{ condition }}
{% endtest %}
