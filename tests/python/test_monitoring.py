"""Monitoring end to end on daily builds: one dataset (1,500 customers, 60 days) landed day by
day (python_utils.landing), with and without the generator's drift option (from 2026-06-10:
more night-time visits, more products viewed per visit; the shifted features in
ground_truth/drift.parquet).

- Drift: a build on 06-09 fits the models; a build on 06-16 (the model 7 days old, not due by
  age) must see the shifted features at major in feature_drift and every unshifted one at none
  or moderate, with the SQL PSI equal to python_utils.monitoring's.
- No drift: builds on 06-09, 06-10, 06-16 and 06-17 keep the stored models until they are
  older than model_max_age_days (the refit on 06-17 keeps the cluster ids and names), log
  every decision in model_refit_log, and raise no critical alert.
- Restart: every build scores with models stored by an earlier process; loading the stored
  models here (another process again) reproduces customer_clusters, customer_churn_scores and
  customer_segment_predictions exactly.
The 10-build false-alarm count is the report of `python -m python_utils drift-check`."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dbt_harness import generate, run_dbt
from python_utils.clustering import ClusterModel, assign_clusters
from python_utils.landing import land_through
from python_utils.monitoring import drift_table
from python_utils.supervised import (
    StoredModel,
    predict_segments,
    score_churn_snapshots,
    segment_training_frame,
)

DATA = ("--customers", "1500", "--days", "60", "--seed", "11")
DRIFT_FROM = "2026-06-10"
SELECT = [
    "build",
    "--select",
    "+monitoring_alerts",
    "+customer_churn_scores",
    "+customer_segment_predictions",
    "+feature_importance",
    "--resource-type",
    "model",
    "--resource-type",
    "seed",
]
VARS = {"cluster_k_min": 5, "cluster_k_max": 8}


def frame(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).df()


def daily_builds(root: Path, raw: Path, days: list[str]) -> dict[str, Path]:
    """Land and build each day in turn; a copy of the database after each build."""
    landed, work, copies = root / "landed", root / "work", {}
    for day in days:
        land_through(raw, landed, date.fromisoformat(day))
        run = run_dbt(SELECT, landed, work, dbt_vars=VARS)
        assert run.returncode == 0, run.output[-4000:]
        copies[day] = root / f"after-{day}.duckdb"
        shutil.copy(run.database, copies[day])
    return copies


@pytest.fixture(scope="module")
def drifted(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("drifted")
    generate(root / "raw", *DATA, "--drift-from", DRIFT_FROM)
    truth = pd.read_parquet(root / "ground_truth" / "drift.parquet")
    return {
        "builds": daily_builds(root, root / "raw", ["2026-06-09", "2026-06-16"]),
        "shifted": set(truth["feature"]),
    }


@pytest.fixture(scope="module")
def steady(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("steady")
    generate(root / "raw", *DATA)
    days = ["2026-06-09", "2026-06-10", "2026-06-16", "2026-06-17"]
    return {"builds": daily_builds(root, root / "raw", days)}


def latest_drift(database: Path) -> pd.DataFrame:
    return frame(
        database,
        """select * from feature_drift
                              where as_of_date = (select max(as_of_date) from feature_drift)""",
    )


def test_drifted_features_reach_major_and_the_others_do_not(drifted):
    drift = latest_drift(drifted["builds"]["2026-06-16"]).set_index("feature")
    assert drifted["shifted"] <= set(drift.index)
    assert str(drift["reference_as_of_date"].iloc[0])[:10] == "2026-06-09"
    for feature, row in drift.iterrows():
        if feature in drifted["shifted"]:
            assert row["drift_level"] == "major", (feature, row["psi"])
        else:
            assert row["drift_level"] in ("none", "moderate"), (feature, row["psi"])
    alerts = frame(
        drifted["builds"]["2026-06-16"],
        """
        select subject from monitoring_alerts
        where "check" = 'feature_drift' and severity = 'warning'
          and as_of_date = date '2026-06-16'""",
    )
    assert set(alerts["subject"]) == drifted["shifted"]


@pytest.mark.parametrize("day", ["2026-06-09", "2026-06-16"])
def test_sql_psi_equals_the_python_definition(drifted, day):
    database = drifted["builds"][day]
    sql = latest_drift(database)
    run = sql["reference_run_id"].iloc[0]
    bins = json.loads(
        frame(
            database,
            f"""select reference_bins_json from segment_model_runs
                                          where run_id = '{run}'""",
        ).iloc[0, 0]
    )
    python = drift_table(frame(database, "select * from customer_features"), bins)
    both = sql.merge(python, on="feature", suffixes=("_sql", "_python"))
    assert len(both) == len(sql) == len(python) == 15
    assert np.allclose(both["psi_sql"], both["psi_python"], rtol=0, atol=1e-9)  # 10 decimals
    assert (both["drift_level_sql"] == both["drift_level_python"]).all()
    assert (both["bin_count_sql"] == both["bin_count_python"]).all()


def test_ten_bins_wherever_the_reference_allows(drifted):
    """A numeric feature with distinct deciles and no value that half a bin of the persons
    share (nothing to keep an edge away from) gets exactly 10 value bins; the others fewer,
    never more."""
    database = drifted["builds"]["2026-06-09"]
    features = frame(database, "select * from customer_features")
    bins = frame(
        database,
        """select feature, feature_kind, count(*) filter (where bin_index >= 0)
                              as value_bins from cluster_reference_bins group by 1, 2""",
    )
    allowed = 0
    for row in bins.itertuples():
        assert row.value_bins <= 10
        if row.feature_kind != "numeric":
            continue
        values = features[row.feature].dropna().to_numpy(dtype="float64")
        deciles = np.quantile(values, np.arange(1, 10) / 10)
        _, counts = np.unique(values, return_counts=True)
        free = len(np.unique(deciles)) == 9 and counts.max() < 0.05 * len(values)
        if free:
            allowed += 1
            assert row.value_bins == 10, row.feature
    assert allowed >= 1  # the check is not vacuous


def test_models_refit_only_when_due(steady):
    log = frame(
        steady["builds"]["2026-06-17"],
        "select * from model_refit_log order by as_of_date, model_name",
    )
    decisions = {
        (str(r.as_of_date)[:10], r.model_name): (r.decision, r.reason) for r in log.itertuples()
    }
    for model in ("clustering", "churn", "segment_classifier"):
        assert decisions[("2026-06-09", model)] == ("refit", "no_model")
        assert decisions[("2026-06-10", model)] == ("kept", "not_due")
        assert decisions[("2026-06-16", model)] == ("kept", "not_due")  # 7 days: not older
    assert decisions[("2026-06-17", "clustering")] == ("refit", "model_age")
    assert decisions[("2026-06-17", "churn")] == ("refit", "model_age")
    runs = frame(
        steady["builds"]["2026-06-17"], "select * from segment_model_runs order by run_number"
    )
    assert len(runs) == 2
    first, second = (ClusterModel.from_json(text) for text in runs["model_json"])
    assert second.cluster_ids == first.cluster_ids  # the refit keeps every cluster id ...
    assert second.cluster_names == first.cluster_names  # ... and name
    importance = frame(
        steady["builds"]["2026-06-17"], "select distinct model_run_id from feature_importance"
    )
    assert importance["model_run_id"].tolist() == [runs["run_id"].iloc[1]]


def test_no_critical_alert_without_drift(steady):
    alerts = frame(steady["builds"]["2026-06-17"], "select * from monitoring_alerts")
    assert set(alerts["as_of_date"].astype(str).str[:10]) <= set(steady["builds"])
    assert (alerts["severity"] != "critical").all(), alerts[alerts["severity"] == "critical"]
    drift = frame(steady["builds"]["2026-06-17"], "select * from feature_drift")
    assert len(drift) == 4 * 15
    assert (drift["drift_level"] != "major").sum() >= 58  # at most 2 of 60 readings major


@pytest.mark.parametrize("day", ["2026-06-10", "2026-06-16"])
def test_stored_models_reproduce_their_scores_after_a_restart(steady, day):
    """The build of `day` kept the models another process stored on 06-09; this process loads
    them again and must reproduce every score exactly."""
    database = steady["builds"][day]
    runs = frame(database, "select * from segment_model_runs")
    assert len(runs) == 1 and str(runs["as_of_date"].iloc[0])[:10] == "2026-06-09"
    features = frame(database, "select * from customer_features")
    stored = frame(
        database, "select * exclude (model_run_id) from customer_clusters order by person_id"
    )
    again = assign_clusters(ClusterModel.from_json(runs["model_json"].iloc[0]), features)
    stored["cluster_probabilities"] = stored["cluster_probabilities"].astype("string")
    pd.testing.assert_frame_equal(
        again.reset_index(drop=True),
        stored.reset_index(drop=True),
        check_dtype=False,
        check_exact=True,
    )
    supervised = frame(database, "select model_name, model_blob from supervised_model_runs")
    blobs = dict(zip(supervised["model_name"], supervised["model_blob"]))
    snapshots = frame(database, "select * from int_churn_snapshots_built")
    params = {"risk_high": 0.66, "risk_medium": 0.33}
    churn = score_churn_snapshots(
        snapshots, StoredModel.from_blob(blobs["churn"]), params["risk_high"], params["risk_medium"]
    )
    stored_churn = frame(
        database,
        "select person_id, customer_id, churn_probability, "
        "churn_risk_tier from customer_churn_scores order by person_id",
    )
    pd.testing.assert_frame_equal(
        churn.sort_values("person_id").reset_index(drop=True),
        stored_churn,
        check_dtype=False,
        check_exact=True,
    )
    early = frame(database, "select * from int_early_behaviour_summarised")
    clusters = frame(database, "select * from customer_clusters")
    predictions = predict_segments(
        segment_training_frame(early, clusters, "cluster_name"),
        "segment",
        StoredModel.from_blob(blobs["segment_classifier"]),
        0.25,
    )
    stored_predictions = frame(
        database,
        "select * exclude (model_run_id) from customer_segment_predictions order by person_id",
    )
    pd.testing.assert_frame_equal(
        predictions.sort_values("person_id").reset_index(drop=True)[stored_predictions.columns],
        stored_predictions,
        check_dtype=False,
        check_exact=True,
    )
