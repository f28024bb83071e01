{% macro outlier_flags(measurements, fences) %}
    {#-
        One row per staged value outside its fence: the rows of an outlier measurements model
        whose group is judged (fence_status 'judged' in the fences model) and whose value lies
        strictly below its lower fence or strictly above its upper fence, with the fences and
        the side. A value exactly on a fence is inside.
    -#}
    with

    measurements as (
        select * from {{ measurements }}
    ),

    fences as (
        select * from {{ fences }}
        where fence_status = 'judged'
    ),

    final as (
        select
            measurements.source_table,
            measurements.column_name,
            measurements.row_key,
            measurements.row_subkey,
            measurements.value_group,
            measurements.measured_value,
            fences.lower_fence,
            fences.upper_fence,
            case
                when measurements.measured_value < fences.lower_fence then 'low'
                else 'high'
            end as outlier_side,
            measurements._source_file,
            measurements._source_row
        from measurements
        inner join fences
            on
                measurements.source_table = fences.source_table
                and measurements.column_name = fences.column_name
                and measurements.value_group = fences.value_group
        where
            measurements.measured_value < fences.lower_fence
            or measurements.measured_value > fences.upper_fence
    )

    select * from final
{% endmacro %}
