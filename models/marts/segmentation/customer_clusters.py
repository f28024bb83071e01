"""Cluster membership of every person: the model in force (the latest run of
segment_model_runs that passed its quality gate, segment_model_runs_judged) applied to
customer_features (cluster_id, cluster_name, confidence, distance to the centroid, 2-D PCA
coordinates for plots). A thin shell over python_utils.clustering.assign_clusters."""


def model(dbt, session):
    dbt.config(
        materialized="table", packages=["pandas", "numpy", "scikit-learn", "scipy", "threadpoolctl"]
    )
    from python_utils.cluster_runs import latest_model, run_in_force
    from python_utils.clustering import assign_clusters
    from python_utils.engine import for_engine, relation_to_pandas

    features_relation = dbt.ref("customer_features")
    features = relation_to_pandas(features_relation)
    runs = relation_to_pandas(dbt.ref("segment_model_runs_judged"))
    assignments = assign_clusters(latest_model(runs), features)
    assignments["model_run_id"] = str(run_in_force(runs)["run_id"])
    return for_engine(assignments, features_relation)
