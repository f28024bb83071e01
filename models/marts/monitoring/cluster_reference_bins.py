"""The drift reference of every clustering run as rows: the bins of each model feature on the
population the run was fitted on (segment_model_runs.reference_bins_json), which feature_drift
joins today's persons to. A thin shell over python_utils.monitoring.bins_rows."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy"])
    from python_utils.engine import for_engine, relation_to_pandas, select_columns
    from python_utils.monitoring import reference_bins_table

    relation = dbt.ref("segment_model_runs")
    runs = relation_to_pandas(select_columns(relation, ["run_id", "reference_bins_json"]))
    return for_engine(reference_bins_table(runs), relation)
