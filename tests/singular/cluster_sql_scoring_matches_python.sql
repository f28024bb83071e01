-- Portable scoring is exact: for a centroid model (k-means, MiniBatch k-means, Ward), the SQL
-- nearest-centroid placement (customer_cluster_scores) gives every person the same cluster as
-- the Python model (customer_clusters). GMM and DBSCAN runs place persons by posterior or core
-- points, which SQL only approximates, so they are not judged. Returns every disagreement.
with

latest_run as (
    select algorithm
    from {{ ref('segment_model_runs') }}
    where run_number = (select max(run_number) from {{ ref('segment_model_runs') }})
),

python_clusters as (
    select * from {{ ref('customer_clusters') }}
),

sql_clusters as (
    select * from {{ ref('customer_cluster_scores') }}
)

select
    coalesce(python_clusters.person_id, sql_clusters.person_id) as person_id,
    python_clusters.cluster_id as python_cluster_id,
    sql_clusters.cluster_id as sql_cluster_id
from python_clusters
full outer join sql_clusters
    on python_clusters.person_id = sql_clusters.person_id
cross join latest_run
where
    latest_run.algorithm in ('kmeans', 'minibatch_kmeans', 'hierarchical', 'single_cluster')
    and (
        python_clusters.person_id is null
        or sql_clusters.person_id is null
        or python_clusters.cluster_id != sql_clusters.cluster_id
    )
