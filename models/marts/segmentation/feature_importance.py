"""Which data points matter most: permutation importance of every customer_features column for
conversion (has ordered, without the buying features themselves) and for cluster membership,
so analysts know which signals to collect. Recomputed only when the clustering run in force
changes (model_run_id; or model_refit_force): a build that keeps the clustering model keeps
the stored table. A thin shell over python_utils.supervised.importance_tables."""


def model(dbt, session):
    # delete+insert by task: a recomputation replaces both tasks' rows
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="task",
        on_schema_change="append_new_columns",
        packages=["pandas", "numpy", "scikit-learn", "threadpoolctl"],
    )
    import json

    from python_utils.engine import for_engine, read_own_history, relation_to_pandas
    from python_utils.supervised import importance_tables, stored_importance

    relation = dbt.ref("customer_features")
    clusters = relation_to_pandas(dbt.ref("customer_clusters"))
    params = json.loads(dbt.config.meta_get("supervised_params"))
    force = json.loads(dbt.config.meta_get("refit_policy")).get("force", False)
    run_id = str(clusters["model_run_id"].iloc[0]) if len(clusters) else None
    kept = None if force else stored_importance(read_own_history(dbt, session), run_id)
    if kept is not None:
        return for_engine(kept, relation)
    table = importance_tables(
        relation_to_pandas(relation), clusters, params["seed"], params["holdout_share"]
    )
    table["model_run_id"] = run_id
    return for_engine(table.astype({"model_run_id": "string"}), relation)
