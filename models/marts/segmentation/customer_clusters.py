"""Clusters of persons (k-means by default) from customer_features: one row per person with
cluster_id, a readable cluster_name, confidence, distance to the centroid and 2-D PCA
coordinates. A thin shell: the logic is python_utils.clustering.cluster_assignments."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "scikit-learn", "scipy"])
    from python_utils.clustering import cluster_assignments, relation_to_pandas

    relation = dbt.ref("customer_features")
    features = relation_to_pandas(relation)
    # Literal meta_get calls: dbt reads them when parsing to pass the values (vars) along.
    k_min = int(dbt.config.meta_get("cluster_k_min"))
    k_max = int(dbt.config.meta_get("cluster_k_max"))
    assignments, _summary = cluster_assignments(
        features,
        k_values=list(range(k_min, k_max + 1)),
        seed=int(dbt.config.meta_get("cluster_seed")),
        min_cluster_size=int(dbt.config.meta_get("cluster_min_size")),
        sample_size=int(dbt.config.meta_get("cluster_sample_size")),
        minibatch_above=int(dbt.config.meta_get("cluster_minibatch_above")),
    )
    if hasattr(relation, "to_pandas"):  # Snowflake stores unquoted names upper-case
        assignments.columns = [c.upper() for c in assignments.columns]
    return assignments
