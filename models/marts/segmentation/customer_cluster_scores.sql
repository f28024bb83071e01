-- Portable cluster scoring: every person of customer_features placed at the nearest centroid of
-- the latest clustering model, in SQL only (cluster_scaler + cluster_centroids), so a warehouse
-- can score persons (e.g. new arrivals) without Python. Standardise each feature with the
-- stored mean and scale, take the Euclidean distance to each centroid, keep the nearest (ties:
-- the lower cluster_id). For k-means and Ward models this equals customer_clusters exactly
-- (a data test checks every person); GMM and DBSCAN place persons by posterior / core points,
-- which this nearest-centroid rule only approximates.
with

features as (
    select * from {{ ref('customer_features') }}
),

scaler as (
    select * from {{ ref('cluster_scaler') }}
),

centroids as (
    select * from {{ ref('cluster_centroids') }}
),

-- noqa: disable=LT02
long_features as (
    {%- for feature in var('cluster_features') %}
    select
        person_id,
        '{{ feature }}' as feature,
        cast({{ feature }} as {{ dbt.type_float() }}) as feature_value
    from features
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
-- noqa: enable=LT02

standardised as (
    select
        long_features.person_id,
        long_features.feature,
        (long_features.feature_value - scaler.feature_mean) / scaler.feature_scale as z_value
    from long_features
    inner join scaler
        on long_features.feature = scaler.feature
),

distances as (
    select
        standardised.person_id,
        centroids.cluster_id,
        centroids.cluster_name,
        -- an exact sum of squares (12 decimals): the same bits whatever the order of addition
        {%- set squared_gap = '(standardised.z_value - centroids.centroid_value)'
            ~ ' * (standardised.z_value - centroids.centroid_value)' %}
        sqrt(
            cast({{ exact_sum(squared_gap, 12) }} as double precision)
        ) as distance_to_centroid
    from standardised
    inner join centroids
        on standardised.feature = centroids.feature
    group by
        standardised.person_id,
        centroids.cluster_id,
        centroids.cluster_name
),

ranked as (
    select
        person_id,
        cluster_id,
        cluster_name,
        distance_to_centroid,
        row_number() over (
            partition by person_id order by distance_to_centroid, cluster_id
        ) as distance_rank
    from distances
),

final as (
    select
        person_id,
        cluster_id,
        cluster_name,
        distance_to_centroid
    from ranked
    where distance_rank = 1
)

select * from final
