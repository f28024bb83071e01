{% macro consent_decision_order() %}
    {#-
        The order of consent decisions, latest first: by recorded_at, a refusal before a grant
        at the same instant (a refusal wins a tie), then by subject and lineage so equal input
        always picks the same row. For an `order by` over stg_privacy__consents columns.
    -#}
    recorded_at desc,
    case when is_granted then 1 else 0 end,
    subject_id,
    _source_file desc,
    _source_row desc
{% endmacro %}
