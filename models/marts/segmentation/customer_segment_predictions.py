"""The segment classifier: every person's segment (the cluster name) predicted from their first
classifier_early_sessions sessions alone, so a new visitor can be personalised before the
clustering has seen enough of them, by the classifier in force (the latest run of
supervised_model_runs that passed its quality gate, supervised_model_runs_judged). A thin
shell over python_utils.supervised.model_in_force and predict_segments; metrics are in
supervised_model_runs."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "scikit-learn", "threadpoolctl"])
    import json

    from python_utils.engine import for_engine, relation_to_pandas
    from python_utils.supervised import model_in_force, predict_segments, segment_training_frame

    relation = dbt.ref("int_early_behaviour_summarised")
    clusters = relation_to_pandas(dbt.ref("customer_clusters"))
    params = json.loads(dbt.config.meta_get("supervised_params"))
    model, run_id = model_in_force(
        dbt.ref("supervised_model_runs_judged"),
        dbt.ref("supervised_model_runs"),
        "segment_classifier",
    )
    frame = segment_training_frame(relation_to_pandas(relation), clusters, "cluster_name")
    predictions = predict_segments(frame, "segment", model, params["holdout_share"])
    predictions["model_run_id"] = run_id
    return for_engine(predictions.astype({"model_run_id": "string"}), relation)
