"""Which data points matter most: permutation importance of every customer_features column for
conversion (has ordered, without the buying features themselves) and for cluster membership,
so analysts know which signals to collect. A thin shell over
python_utils.supervised.importance_tables."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "scikit-learn", "threadpoolctl"])
    import json

    from python_utils.clustering import for_engine, relation_to_pandas
    from python_utils.supervised import importance_tables

    relation = dbt.ref("customer_features")
    clusters = relation_to_pandas(dbt.ref("customer_clusters"))
    params = json.loads(dbt.config.meta_get("supervised_params"))
    table = importance_tables(relation_to_pandas(relation), clusters, params["seed"],
                              params["holdout_share"])
    return for_engine(table, relation)
