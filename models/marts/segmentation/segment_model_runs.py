"""The clustering log and model store: one row per fit (incremental). A build refits only when
a refit is due (no model, settings changed, older than model_max_age_days, major drift of its
features, low agreement of today's assignment with the one at the fit, or model_refit_force);
otherwise it updates the latest run's check_* columns and the stored model keeps scoring. A
build that repeats the latest run's input, settings and as_of, e.g. the re-run of an
interrupted build, returns that run's row unchanged and fits nothing. Each run fits
the configured algorithm on customer_features, matches its clusters to the previous run's model
(stable ids and names), and records k, every score tried, validation scores, merges, agreement
with the previous run, run time and the serialised model. A thin shell over
python_utils.cluster_runs.model_run."""


def model(dbt, session):
    # delete+insert by run_id: a build that repeats the latest run returns its row unchanged;
    # a log written before a column existed (dropped_features_json) gains it
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="run_id",
        full_refresh=False,
        on_schema_change="append_new_columns",
        packages=["pandas", "numpy", "scikit-learn", "scipy", "threadpoolctl"],
    )
    from python_utils.cluster_runs import model_run, params_from_meta
    from python_utils.engine import for_engine, read_own_history, relation_to_pandas
    from python_utils.monitoring import policy_from_meta, settings_from_meta

    features_relation = dbt.ref("customer_features")
    features = relation_to_pandas(features_relation)
    window = relation_to_pandas(dbt.ref("stg_observation_window"))
    as_of = window["as_of_date"].iloc[0] if len(window) else None
    previous = read_own_history(dbt, session)  # the previous run's model, to match against
    # A literal meta_get call: dbt reads it when parsing to pass the vars along.
    params = params_from_meta(dbt.config.meta_get("cluster_params"))
    policy = policy_from_meta(dbt.config.meta_get("refit_policy"))
    settings = settings_from_meta(dbt.config.meta_get("drift_settings"))
    return for_engine(
        model_run(features, params, previous, as_of, policy, settings), features_relation
    )
