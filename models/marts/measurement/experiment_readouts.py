"""Experiment readouts (data contract section 4): one row per experiment, variant, segment and
metric, with lifts against control, intervals, adjusted p-values, the minimum detectable
effect, the sample-ratio check, CUPED and k-anonymity suppression. A thin shell over
python_utils.experiments.readout, fed the sums of experiment_readout_cells; the settings come
from the experiment_* variables through the model's meta (readout_params)."""


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "scipy"])
    from python_utils.engine import for_engine, relation_to_pandas
    from python_utils.experiments import readout, readout_params

    cells_relation = dbt.ref("experiment_readout_cells")
    cells = relation_to_pandas(cells_relation)
    # A literal meta_get call: dbt reads it when parsing to pass the vars along.
    params = readout_params(dbt.config.meta_get("readout_params"))
    return for_engine(readout(cells, **params), cells_relation)
