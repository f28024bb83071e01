"""A supervised model that fails its quality gate leaves the last good model scoring, end to end
with two real dbt builds into one DuckDB file: the first as of a month earlier (few enough
labelled customers that the churn gate passes it unjudged), the second as of the end of the
data with gates no fit can meet. customer_churn_scores must then score today's customers with
the first run's stored model, and say so."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from dbt_harness import generate, run_dbt
from python_utils.supervised import (
    StoredModel,
    churn_model_from_snapshots,
    predict_segments,
    score_churn_snapshots,
    segment_training_frame,
)

DATA_ARGS = ("--customers", "800", "--days", "120", "--seed", "5", "--dirty-rate", "0")
FIRST_AS_OF = "2026-05-31"  # the data end on 2026-06-30
# the churn fits: 177 labelled customers as of FIRST_AS_OF (below: passes unjudged), 259 as of
# the end (judged); the classifier's are judged in both builds
MIN_POPULATION = 220
# models and seeds only: the data tests of the log's gates would fail the second build (they
# are proven elsewhere); one k keeps the clustering cheap
SELECT = [
    "build",
    "--select",
    "+customer_churn_scores",
    "+customer_segment_predictions",
    "--resource-type",
    "model",
    "--resource-type",
    "seed",
]
COMMON_VARS = {"model_gate_min_population": MIN_POPULATION, "cluster_k_min": 4, "cluster_k_max": 4}


def frame(database, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).df()


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("model_in_force")
    raw = root / "raw"
    generate(raw, *DATA_ARGS)
    work = root / "work"
    first = run_dbt(SELECT, raw, work, dbt_vars={**COMMON_VARS, "as_of": FIRST_AS_OF})
    assert first.returncode == 0, first.output[-4000:]
    first_runs = frame(first.database, "select * from supervised_model_runs_judged")
    second = run_dbt(
        SELECT,
        raw,
        work,
        dbt_vars={**COMMON_VARS, "churn_min_auc": 0.999, "classifier_min_macro_f1": 0.999},
    )
    assert second.returncode == 0, second.output[-4000:]
    runs = frame(
        second.database,
        """
        select judged.*, runs.model_blob from supervised_model_runs_judged as judged
        inner join supervised_model_runs as runs on judged.run_id = runs.run_id""",
    )
    return {
        "db": second.database,
        "first_runs": first_runs,
        "runs": runs.set_index(["model_name", "run_number"]),
    }


def test_a_failing_churn_fit_leaves_the_last_good_model_scoring(two_builds):
    first = two_builds["first_runs"].set_index("model_name")
    assert first.loc["churn", "in_force_reason"] == "latest_run_passed"
    runs = two_builds["runs"]
    good, failed = runs.loc[("churn", 1)], runs.loc[("churn", 2)]
    assert good["is_too_small_to_judge"] and good["passed_quality_gate"]
    assert not failed["is_too_small_to_judge"] and not failed["passed_quality_gate"]
    assert good["is_in_force"] and not failed["is_in_force"] and failed["is_latest"]
    assert good["in_force_reason"] == "latest_run_failed_last_good_run_kept"

    scores = frame(two_builds["db"], "select * from customer_churn_scores order by person_id")
    assert set(scores["model_run_id"]) == {good["run_id"]}
    snapshots = frame(two_builds["db"], "select * from int_churn_snapshots_built")
    assert str(snapshots["cutoff_at"].max())[:10] > FIRST_AS_OF  # today's rows, not run 1's
    expected = score_churn_snapshots(snapshots, StoredModel.from_blob(good["model_blob"]))
    pd.testing.assert_frame_equal(
        scores.drop(columns="model_run_id"), expected, check_dtype=False
    )  # bit for bit: the same floats
    # ... and not what today's own (failed) fit would have given
    today = score_churn_snapshots(snapshots, StoredModel.from_blob(failed["model_blob"]))
    assert not np.array_equal(today["churn_probability"], expected["churn_probability"])
    # the stored model is the one non-holdout fit, byte for byte (settings: the defaults)
    model, _ = churn_model_from_snapshots(snapshots)
    assert model.to_blob() == failed["model_blob"]


def test_when_no_classifier_run_passed_the_latest_predicts(two_builds):
    runs = two_builds["runs"]
    latest = runs.loc[("segment_classifier", 2)]
    assert not runs.loc[("segment_classifier", 1), "passed_quality_gate"]
    assert latest["is_in_force"] and latest["in_force_reason"] == "no_run_passed_latest_run_used"
    predictions = frame(
        two_builds["db"], "select * from customer_segment_predictions order by person_id"
    )
    assert set(predictions["model_run_id"]) == {latest["run_id"]}
    training = segment_training_frame(
        frame(two_builds["db"], "select * from int_early_behaviour_summarised"),
        frame(two_builds["db"], "select * from customer_clusters"),
        "cluster_name",
    )
    expected = predict_segments(training, "segment", StoredModel.from_blob(latest["model_blob"]))
    pd.testing.assert_frame_equal(
        predictions.drop(columns="model_run_id"), expected, check_dtype=False
    )
