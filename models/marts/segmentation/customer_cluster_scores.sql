-- Portable cluster scoring: every person of customer_features placed at the nearest centroid of
-- the latest clustering model, in SQL only (cluster_scaler + cluster_centroids), so a warehouse
-- can score persons (e.g. new arrivals) without Python. Standardise each feature the model kept
-- (cluster_scaler lists exactly those: degenerate features dropped at the fit are absent) with
-- the stored mean and scale, add the squared gaps to each centroid, keep the nearest. Ties: the
-- squared distances within var('cluster_tie_tolerance') x max(1, nearest) of the nearest are a
-- tie and the smallest cluster_id wins, the rule python_utils.clustering.tie_broken_nearest
-- applies (the two add the squares differently, exact decimals here and doubles there, so an
-- exact tie must not be decided by the last bit). For k-means and Ward models this equals
-- customer_clusters (a data test checks every person); GMM and DBSCAN place persons by
-- posterior / core points, which this nearest-centroid rule only approximates.
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

-- every cluster of the model (a model without features has one row per cluster, feature null)
clusters as (
    select distinct
        cluster_id,
        cluster_name
    from centroids
),

-- noqa: disable=LT02
long_features as (
    {%- for feature in var('cluster_features') %}
    select
        person_id,
        '{{ feature }}' as feature,
        cast({{ feature }} as double precision) as feature_value
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

squared_gaps as (
    select
        standardised.person_id,
        centroids.cluster_id,
        -- an exact sum of squares (12 decimals): the same bits whatever the order of addition
        {%- set squared_gap = '(standardised.z_value - centroids.centroid_value)'
            ~ ' * (standardised.z_value - centroids.centroid_value)' %}
        cast({{ exact_sum(squared_gap, 12) }} as double precision) as squared_distance
    from standardised
    inner join centroids
        on standardised.feature = centroids.feature
    group by
        standardised.person_id,
        centroids.cluster_id
),

-- every person against every cluster (no kept feature: distance 0 to each)
distances as (
    select
        features.person_id,
        clusters.cluster_id,
        clusters.cluster_name,
        coalesce(squared_gaps.squared_distance, 0) as squared_distance
    from features
    cross join clusters
    left join squared_gaps
        on
            features.person_id = squared_gaps.person_id
            and clusters.cluster_id = squared_gaps.cluster_id
),

nearest as (
    select
        person_id,
        cluster_id,
        cluster_name,
        squared_distance,
        min(squared_distance) over (partition by person_id) as nearest_squared_distance
    from distances
),

ranked as (
    select
        person_id,
        cluster_id,
        cluster_name,
        squared_distance,
        row_number() over (partition by person_id order by cluster_id) as tie_rank
    from nearest
    where
        squared_distance <= nearest_squared_distance
        + {{ var('cluster_tie_tolerance') }}
        * (case when nearest_squared_distance > 1 then nearest_squared_distance else 1 end)
),

final as (
    select
        person_id,
        cluster_id,
        cluster_name,
        sqrt(squared_distance) as distance_to_centroid
    from ranked
    where tie_rank = 1
)

select * from final
