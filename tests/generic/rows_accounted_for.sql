{% test rows_accounted_for(model, accepted, rejected, rejected_where=none) %}
    {#-
        Nothing is lost: every row of `model` is either in `accepted` or in `rejected`
        (optionally filtered by `rejected_where`). Fails with the three counts otherwise.
    -#}
    with

    counts as (
        select
            (select count(*) from {{ model }}) as rows_in,
            (select count(*) from {{ accepted }}) as rows_accepted,
            (
                select count(*) from {{ rejected }}
                {%- if rejected_where %} where {{ rejected_where }}{% endif %}
            ) as rows_rejected
    )

    select *
    from counts
    where rows_in <> rows_accepted + rows_rejected
{% endtest %}
