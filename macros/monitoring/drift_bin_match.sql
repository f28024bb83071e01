{% macro drift_bin_match(bins, values) %}
    {#- The join condition that puts a feature value (relation alias `values`: feature,
        feature_value) in one stored bin (alias `bins`: feature, feature_kind, bin_index,
        lower_edge, upper_edge, category_value) of python_utils.monitoring: null values in the
        missing bin (-1); numeric bins hold lower_edge < value <= upper_edge (open ends null);
        categorical bins hold their value (a value the reference did not have matches no bin:
        the caller counts it in other, -2). -#}
    {{ bins }}.feature = {{ values }}.feature
    and (
        ({{ values }}.feature_value is null and {{ bins }}.bin_index = -1)
        or (
            {{ values }}.feature_value is not null
            and {{ bins }}.feature_kind = 'numeric'
            and {{ bins }}.bin_index >= 0
            and ({{ bins }}.lower_edge is null or {{ values }}.feature_value > {{ bins }}.lower_edge)
            and ({{ bins }}.upper_edge is null or {{ values }}.feature_value <= {{ bins }}.upper_edge)
        )
        or (
            {{ values }}.feature_value is not null
            and {{ bins }}.feature_kind = 'categorical'
            and {{ bins }}.bin_index >= 0
            and {{ values }}.feature_value = {{ bins }}.category_value
        )
    )
{% endmacro %}
