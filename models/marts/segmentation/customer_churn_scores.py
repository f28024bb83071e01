"""Churn propensity of every customer with a past purchase: the probability of no completed
order in the next churn_horizon_days, by the churn model in force (the latest run of
supervised_model_runs that passed its quality gate, supervised_model_runs_judged: a
gradient-boosting model trained on point-in-time features, as of as_of minus the horizon,
labels from the horizon after: no leakage) applied to today's features. A thin shell over
python_utils.supervised.model_in_force and score_churn_snapshots; metrics are in
supervised_model_runs."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "scikit-learn", "threadpoolctl"])
    import json

    from python_utils.engine import for_engine, relation_to_pandas
    from python_utils.supervised import model_in_force, score_churn_snapshots

    relation = dbt.ref("int_churn_snapshots_built")
    params = json.loads(dbt.config.meta_get("supervised_params"))
    model, run_id = model_in_force(
        dbt.ref("supervised_model_runs_judged"), dbt.ref("supervised_model_runs"), "churn"
    )
    scores = score_churn_snapshots(
        relation_to_pandas(relation), model, params["risk_high"], params["risk_medium"]
    )
    scores["model_run_id"] = run_id
    return for_engine(scores.astype({"model_run_id": "string"}), relation)
