-- What each cluster looks like: one row per cluster and profiled feature, with the cluster's
-- size and share, the feature's cluster mean against the population (mean, standard deviation,
-- z-score), and the cluster's readable name with the traits behind it. Aggregated here in SQL;
-- names and traits come from the clustering model (customer_clusters, cluster_centroids).
{%- set profiled_features = [
    'log_session_count', 'log_days_since_last_activity', 'night_session_share',
    'mobile_session_share', 'email_session_share', 'discount_session_share', 'conversion_rate',
    'log_avg_engaged_seconds', 'log_video_plays', 'log_order_count', 'log_monetary_total',
    'log_order_value', 'log_recency_days', 'log_tenure_days', 'age_years',
] %}

with

clusters as (
    select * from {{ ref('customer_clusters') }}
),

features as (
    select * from {{ ref('customer_features') }}
),

cluster_traits as (
    select distinct
        cluster_id,
        cluster_traits
    from {{ ref('cluster_centroids') }}
),

-- noqa: disable=LT02
long_features as (
    {%- for feature in profiled_features %}
    select
        clusters.cluster_id,
        clusters.cluster_name,
        '{{ feature }}' as feature,
        cast(features.{{ feature }} as {{ dbt.type_float() }}) as feature_value
    from clusters
    inner join features
        on clusters.person_id = features.person_id
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
-- noqa: enable=LT02

population as (
    select
        feature,
        avg(feature_value) as population_mean,
        stddev_pop(feature_value) as population_stddev
    from long_features
    group by feature
),

sizes as (
    select
        cluster_id,
        count(*) as member_count,
        1.0 * count(*) / sum(count(*)) over () as member_share
    from clusters
    group by cluster_id
),

cluster_means as (
    select
        cluster_id,
        cluster_name,
        feature,
        avg(feature_value) as cluster_mean
    from long_features
    group by cluster_id, cluster_name, feature
),

final as (
    select
        cluster_means.cluster_id,
        cluster_means.cluster_name,
        cluster_traits.cluster_traits,
        sizes.member_count,
        cluster_means.feature,
        round(sizes.member_share, 4) as member_share,
        round(cluster_means.cluster_mean, 6) as cluster_mean,
        round(population.population_mean, 6) as population_mean,
        round(population.population_stddev, 6) as population_stddev,
        round(
            case
                when population.population_stddev > 0
                    then
                        (cluster_means.cluster_mean - population.population_mean)
                        / population.population_stddev
                else 0
            end,
            4
        ) as z_score
    from cluster_means
    inner join sizes
        on cluster_means.cluster_id = sizes.cluster_id
    inner join population
        on cluster_means.feature = population.feature
    left join cluster_traits
        on cluster_means.cluster_id = cluster_traits.cluster_id
)

select * from final
