"""The segment classifier: every person's segment (the cluster name) predicted from their first
classifier_early_sessions sessions alone, so a new visitor can be personalised before the
clustering has seen enough of them. A thin shell over
python_utils.supervised.train_segment_classifier; metrics are in supervised_model_runs."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "scikit-learn", "threadpoolctl"])
    import json

    from python_utils.clustering import for_engine, relation_to_pandas
    from python_utils.supervised import segment_training_frame, train_segment_classifier

    relation = dbt.ref("int_early_behaviour_summarised")
    clusters = relation_to_pandas(dbt.ref("customer_clusters"))
    params = json.loads(dbt.config.meta_get("supervised_params"))
    frame = segment_training_frame(relation_to_pandas(relation), clusters, "cluster_name")
    predictions, _ = train_segment_classifier(frame, "segment", params["seed"],
                                              params["holdout_share"],
                                              max_training_rows=params["max_training_rows"],
                                              evaluate=False)  # metrics: supervised_model_runs
    return for_engine(predictions, relation)
