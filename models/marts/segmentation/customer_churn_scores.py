"""Churn propensity of every customer with a past purchase: the probability of no completed
order in the next churn_horizon_days, from a gradient-boosting model trained on point-in-time
features (as of as_of minus the horizon, labels from the horizon after: no leakage). A thin
shell over python_utils.supervised.churn_from_snapshots; metrics are in supervised_model_runs."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "scikit-learn", "threadpoolctl"])
    import json

    from python_utils.clustering import for_engine, relation_to_pandas
    from python_utils.supervised import churn_from_snapshots

    relation = dbt.ref("int_churn_snapshots_built")
    params = json.loads(dbt.config.meta_get("supervised_params"))
    scores, _ = churn_from_snapshots(relation_to_pandas(relation), params["seed"],
                                     params["holdout_share"], params["risk_high"],
                                     params["risk_medium"], params["max_training_rows"],
                                     evaluate=False)  # the holdout fit is supervised_model_runs'
    return for_engine(scores, relation)
