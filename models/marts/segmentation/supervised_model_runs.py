"""The supervised models' log: one row per build and model (churn, segment_classifier; a build
that repeats the latest run's results and as_of, e.g. the re-run of an interrupted build, keeps
that run's rows instead of adding equal ones) with
held-out metrics (AUC, Brier, log loss and calibration for churn; accuracy, macro F1 and the
majority baseline for the classifier), top drivers and the full summary. Incremental (append).
It makes the holdout fits of the same deterministic models as customer_churn_scores and
customer_segment_predictions (same inputs, seeds and holdout), which make only the fits on every
labelled row that score: each fit is made once per build."""


def model(dbt, session):
    # delete+insert by run_id: a build that repeats the latest run returns its rows unchanged
    dbt.config(materialized="incremental", incremental_strategy="delete+insert",
               unique_key="run_id", full_refresh=False,
               packages=["pandas", "numpy", "scikit-learn", "threadpoolctl"])
    import json
    import time

    from python_utils.clustering import for_engine, read_own_history, relation_to_pandas
    from python_utils.supervised import (
        churn_from_snapshots, run_rows, segment_training_frame, train_segment_classifier,
    )

    relation = dbt.ref("int_churn_snapshots_built")
    params = json.loads(dbt.config.meta_get("supervised_params"))
    window = relation_to_pandas(dbt.ref("stg_observation_window"))
    seconds = {}
    started = time.perf_counter()
    _, churn = churn_from_snapshots(relation_to_pandas(relation), params["seed"],
                                    params["holdout_share"], params["risk_high"],
                                    params["risk_medium"], params["max_training_rows"],
                                    score_rows=False)
    seconds["churn"] = time.perf_counter() - started
    started = time.perf_counter()
    frame = segment_training_frame(relation_to_pandas(dbt.ref("int_early_behaviour_summarised")),
                                   relation_to_pandas(dbt.ref("customer_clusters")),
                                   "cluster_name")
    _, classifier = train_segment_classifier(
        frame, "segment", params["seed"], params["holdout_share"],
        max_training_rows=params["max_training_rows"], predict=False)
    seconds["segment_classifier"] = time.perf_counter() - started
    previous = read_own_history(dbt, session)
    as_of = window["as_of_date"].iloc[0] if len(window) else None
    return for_engine(run_rows([churn, classifier], previous, as_of, seconds), relation)
