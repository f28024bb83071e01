"""Data written to the contract by someone else: CSV or Parquet, partial tables, broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dbt_harness import NO_UNIT_TESTS, query, run_dbt, scalar

ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o3", "o4", "o4", ""],
        "customer_id": ["c1", "c1", None, "c2", "c2", "c3"],
        "ordered_at": [
            "2026-03-01T10:00:00",
            "2026-03-05 12:00:00+01:00",
            "2026-03-06T09:00:00Z",
            "2026-03-07T09:00:00",
            "2026-03-07T09:00:00",
            "2026-03-07T10:00:00",
        ],
        "status": ["completed", " Completed ", "refunded", "shipped", "shipped", "completed"],
        "currency": [None, "eur", "USD", None, None, None],
        "total_amount": [10.5, 20.0, 5.25, 7.0, 7.0, 1.0],
        "extra_column_is_ignored": [1, 2, 3, 4, 5, 6],
    }
)

EVENTS = pd.DataFrame(
    {
        "event_id": ["e1", "e2", "e3", "e3"],
        "anonymous_id": ["a1", "a1", None, None],
        "user_id": [None, "c1", "c2", "c2"],
        "event_type": ["page_view", "product_view", "PURCHASE", "PURCHASE"],
        "occurred_at": pd.to_datetime(
            [
                "2026-03-01 10:00:00",
                "2026-03-01 10:01:00",
                "2026-03-02 08:00:00",
                "2026-03-02 08:00:00",
            ]
        ),
        "revenue": [None, None, 12.5, 12.5],
    }
)


# Staging and its tests, for what only staging decides: the raw-to-staging row accounting
# (source_rows_accounted_for_*) stays, the staging-to-intermediate one (rows_accounted_for_stg_*)
# would read models not built here.
# staging reads the identity and internal-account seeds: they are built with it
STAGING_ONLY = [
    "build",
    "--select",
    "staging",
    "resource_type:seed",
    "--exclude",
    "rows_accounted_for_stg_*",
]
# A whole build on partial data (the unit tests run in the session build)
WHOLE_BUILD = ["build", *NO_UNIT_TESTS]


def _write(folder: Path, table: str, frame: pd.DataFrame, fmt: str) -> None:
    (folder / table).mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(folder / table / "part-0.csv", index=False)
    else:
        frame.to_parquet(folder / table / "part-0.parquet", index=False)


def test_only_orders_as_csv_builds(tmp_path):
    raw = tmp_path / "raw"
    _write(raw, "orders", ORDERS, "csv")
    run = run_dbt(WHOLE_BUILD, raw, tmp_path / "work")
    assert run.returncode == 0, run.output[-4000:]
    db = run.database
    accepted = query(
        db,
        "select order_id, status, currency, total_amount from stg_shop__orders order by order_id",
    )
    assert [row[0] for row in accepted] == ["o1", "o2", "o3"]
    assert accepted[1][1:] == ("completed", "EUR", 20)
    assert dict(
        query(db, "select reason, count(*) from stg_shop__orders_quarantine group by 1")
    ) == {
        "invalid_status": 2,
        "missing_primary_key": 1,
    }
    assert scalar(db, "select count(*) from stg_app__events") == 0
    assert str(scalar(db, "select as_of_date from stg_observation_window")) == "2026-03-06"
    # Transactions only (no events, no CRM): every cluster feature is degenerate (one person,
    # tenure imputed, behaviour imputed) and is dropped with its reason; the stored scaler is
    # the one applied (empty), and the SQL scoring places every person as Python does.
    features, dropped = query(
        db, "select features_json, dropped_features_json from segment_model_runs"
    )[0]
    dropped = json.loads(dropped)
    assert json.loads(features) == [] and dropped["log_tenure_days"] == "zero_variance"
    assert dropped["night_session_share"] == "all_imputed:is_behaviour_imputed"
    assert scalar(db, "select count(*) from cluster_scaler") == 0
    assert query(db, "select cluster_id, feature from cluster_centroids") == [(0, None)]
    python = query(db, "select person_id, cluster_id from customer_clusters order by 1")
    assert len(python) == 1
    scores = "select person_id, cluster_id from customer_cluster_scores order by 1"
    assert query(db, scores) == python


def test_only_events_as_parquet_with_native_timestamps_builds(tmp_path):
    raw = tmp_path / "raw"
    _write(raw, "events", EVENTS, "parquet")
    run = run_dbt(WHOLE_BUILD, raw, tmp_path / "work", dbt_vars={"as_of": "2026-03-02"})
    assert run.returncode == 0, run.output[-4000:]
    db = run.database
    rows = query(db, "select event_id, event_type, occurred_at from stg_app__events order by 1")
    assert [(r[0], r[1]) for r in rows] == [
        ("e1", "page_view"),
        ("e2", "product_view"),
        ("e3", "purchase"),
    ]
    assert str(rows[0][2]) == "2026-03-01 10:00:00"
    assert query(db, "select reason from stg_app__events_quarantine") == [("duplicate_key",)]
    assert scalar(db, "select count(*) from stg_shop__orders") == 0


def test_mixed_parquet_and_csv_files_in_one_table(tmp_path):
    raw = tmp_path / "raw"
    _write(raw, "orders", ORDERS.iloc[:3], "csv")
    (raw / "orders").mkdir(exist_ok=True)
    ORDERS.iloc[3:].to_parquet(raw / "orders" / "part-1.parquet", index=False)
    run = run_dbt(STAGING_ONLY, raw, tmp_path / "work")
    assert run.returncode == 0, run.output[-4000:]
    files = dict(
        query(
            run.database,
            "select source_file, count(*) from ("
            "select _source_file as source_file from stg_shop__orders union all "
            "select source_file from stg_shop__orders_quarantine) group by 1",
        )
    )
    assert files == {"orders/part-0.csv": 3, "orders/part-1.parquet": 3}


def test_missing_required_column_stops_the_build_naming_table_and_column(tmp_path):
    raw = tmp_path / "raw"
    _write(raw, "orders", ORDERS.drop(columns=["status"]), "csv")
    run = run_dbt(["build"], raw, tmp_path / "work")
    assert run.returncode != 0
    assert "Raw table 'orders'" in run.output
    assert "missing required column(s): status" in run.output
    assert "part-0.csv" in run.output
    # it stopped before any model was built
    assert not any(r["unique_id"].startswith("model.") for r in run.results())


def test_missing_raw_folder_stops_the_build_naming_the_path(tmp_path):
    run = run_dbt(["build"], tmp_path / "no_such_folder", tmp_path / "work")
    assert run.returncode != 0
    assert "SEGMENTS_RAW_PATH" in run.output and "no_such_folder" in run.output


def test_unparseable_numbers_in_csv_are_judged_not_fatal(tmp_path):
    """Any text can stand in a CSV number column: an amount that is no number quarantines its
    order (invalid_amount), a scroll depth or engaged time that is no number is null on an
    accepted event, and the build goes on (staging, where the rows land)."""
    raw = tmp_path / "raw"
    orders = ORDERS.iloc[:3].astype({"total_amount": object})
    orders.loc[1, "total_amount"] = "twenty"
    _write(raw, "orders", orders, "csv")
    events = EVENTS.iloc[:3].assign(
        scroll_depth_pct=["50", "deep", "75"], engaged_seconds=["12", "3", "long"]
    )
    _write(raw, "events", events, "csv")
    run = run_dbt(STAGING_ONLY, raw, tmp_path / "work", dbt_vars={"as_of": "2026-03-06"})
    assert run.returncode == 0, run.output[-4000:]
    db = run.database
    assert query(db, "select order_id, reason from stg_shop__orders_quarantine") == [
        ("o2", "invalid_amount")
    ]
    assert query(
        db, "select event_id, scroll_depth_pct, engaged_seconds from stg_app__events order by 1"
    ) == [("e1", 50.0, 12.0), ("e2", None, 3.0), ("e3", 75.0, None)]
