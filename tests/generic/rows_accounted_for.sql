{% test rows_accounted_for(model, accepted, rejected, rejected_where=none, rejected_count=none) %}
    {#-
        Nothing is lost: every row of `model` is either in `accepted` or in `rejected`
        (optionally filtered by `rejected_where`; when `rejected` holds counts, not rows,
        `rejected_count` names the count column to sum). Fails with the three counts otherwise.
    -#}
    with

    counts as (
        select
            (select count(*) from {{ model }}) as rows_in,
            (select count(*) from {{ accepted }}) as rows_accepted,
            (
                select
                    {%- if rejected_count %} coalesce(sum({{ rejected_count }}), 0)
                    {%- else %} count(*)
                    {%- endif %}
                from {{ rejected }}
                {%- if rejected_where %} where {{ rejected_where }}{% endif %}
            ) as rows_rejected
    )

    select *
    from counts
    where rows_in <> rows_accepted + rows_rejected
{% endtest %}
