"""The clustering model in force's scaler as a table (feature, mean, scale): with
cluster_centroids, what SQL needs to place a person without Python. A thin shell over
python_utils.clustering.model_tables."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "scikit-learn", "scipy"])
    from python_utils.cluster_runs import latest_model
    from python_utils.clustering import model_tables
    from python_utils.engine import for_engine, relation_to_pandas

    relation = dbt.ref("segment_model_runs_judged")
    scaler, _ = model_tables(latest_model(relation_to_pandas(relation)))
    return for_engine(scaler, relation)
