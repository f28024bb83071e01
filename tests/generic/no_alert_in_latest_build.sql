{% test no_alert_in_latest_build(model, alert_severity) %}
    {#- No alert of `alert_severity` on the latest build (max as_of_date) of an alerts model:
        the rows returned are the alerts that fail it. -#}
    select *
    from {{ model }}
    where
        severity = '{{ alert_severity }}'
        and as_of_date = (select max(as_of_date) from {{ model }})
{% endtest %}
