"""Outliers are flagged, never quarantined: an order of 250,000 and a page view engaged for a
week, planted in normal demo data, are the only values outside their fences; they stay accepted
in staging, are counted in raw_row_accounting and data_quality_profile, and the order is marked
in int_orders_permitted. The normal data around them flags nothing (docs/data-quality.md)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dbt_harness import NO_UNIT_TESTS, generate, query, run_dbt

# normal data: the generator plants no extremes and no test orders of its own here
ARGS = (
    "--customers",
    "300",
    "--days",
    "30",
    "--seed",
    "11",
    "--no-outliers",
    "--no-internal-accounts",
)
PLANTED_TOTAL = 250_000
A_WEEK_OF_SECONDS = 7 * 24 * 3600
# The models the flags reach, with what they need and their data tests, the row-accounting
# tests included (the unit tests run in the session build).
BUILD = [
    "build",
    *NO_UNIT_TESTS,
    "--select",
    "+data_quality_profile",
    "+raw_row_accounting",
    "+segment_summary",
    "+int_events_permitted",
    "stg_shop__orders_quarantine",
    "stg_app__events_quarantine",
]


def plant(raw: Path) -> None:
    """A copy of a completed USD order of a customer with a total of 250,000 and a copy of a
    page view engaged for a week, each in a new file of its table, under new keys."""
    with duckdb.connect() as connection:
        for table, key, where, column, value in (
            (
                "orders",
                "planted-order",
                "currency = 'USD' and status = 'completed' and customer_id is not null",
                "total_amount",
                PLANTED_TOTAL,
            ),
            (
                "events",
                "planted-event",
                "event_type = 'page_view' and engaged_seconds > 0",
                "engaged_seconds",
                A_WEEK_OF_SECONDS,
            ),
        ):
            id_column = "order_id" if table == "orders" else "event_id"
            source = f"read_parquet('{raw}/{table}/*.parquet')"
            connection.execute(f"""
                copy (
                    select * replace ('{key}' as {id_column}, {column} * 0 + {value} as {column})
                    from {source}
                    where {where}
                    order by {id_column}
                    limit 1
                ) to '{raw}/{table}/planted.parquet' (format parquet)""")


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("outliers")
    raw = root / "raw"
    generate(raw, *ARGS)
    plant(raw)
    run = run_dbt(BUILD, raw, root / "work")
    return {"run": run, "db": run.database}


def test_the_build_passes_with_the_planted_values(planted):
    run = planted["run"]
    assert run.returncode == 0, run.output[-4000:]
    assert run.failures() == []
    names = [r["unique_id"].split(".")[2] for r in run.results()]
    # the flagged rows stay accepted: the row-accounting and stay-accepted tests ran (and passed)
    for prefix in (
        "source_rows_accounted_for_shop_orders",
        "source_rows_accounted_for_app_events",
        "rows_accounted_for_stg_shop__orders",
        "rows_accounted_for_stg_app__events",
        "stg_shop__outlier_flags_orders_stay_accepted",
        "stg_app__outlier_flags_events_stay_accepted",
    ):
        assert any(name.startswith(prefix) for name in names), prefix


def test_exactly_the_planted_values_are_flagged(planted):
    db = planted["db"]
    flags = query(
        db,
        """
        select source_table, column_name, row_key, value_group, measured_value, outlier_side,
            measured_value > upper_fence
        from stg_shop__outlier_flags
        union all
        select source_table, column_name, row_key, value_group, measured_value, outlier_side,
            measured_value > upper_fence
        from stg_app__outlier_flags
        order by 1""",
    )
    assert flags == [
        (
            "events",
            "engaged_seconds",
            "planted-event",
            "page_view",
            A_WEEK_OF_SECONDS,
            "high",
            True,
        ),
        ("orders", "total_amount", "planted-order", "USD", PLANTED_TOTAL, "high", True),
    ]
    # the fences the planted values are judged by come from normal data around them
    fences = dict(
        query(
            db,
            """
        select column_name, upper_fence from stg_shop__outlier_fences
        where source_table = 'orders' and value_group = 'USD' and fence_status = 'judged'
        union all
        select column_name, upper_fence from stg_app__outlier_fences
        where column_name = 'engaged_seconds' and value_group = 'page_view'
            and fence_status = 'judged'""",
        )
    )
    assert 1_000 < fences["total_amount"] < PLANTED_TOTAL
    assert 600 < fences["engaged_seconds"] < A_WEEK_OF_SECONDS


def test_flagged_rows_are_not_quarantined(planted):
    db = planted["db"]
    assert query(
        db, "select total_amount from stg_shop__orders where order_id = 'planted-order'"
    ) == [(PLANTED_TOTAL,)]
    assert query(
        db, "select engaged_seconds from stg_app__events where event_id = 'planted-event'"
    ) == [(A_WEEK_OF_SECONDS,)]
    assert query(
        db, "select count(*) from stg_shop__orders_quarantine where order_id = 'planted-order'"
    ) == [(0,)]
    assert query(
        db, "select count(*) from stg_app__events_quarantine where event_id = 'planted-event'"
    ) == [(0,)]
    # downstream, the order is used like any other and carries its flag
    assert query(db, "select order_id from int_orders_permitted where is_outlier") == [
        ("planted-order",)
    ]


def test_the_flags_are_counted_in_accounting_and_profile(planted):
    db = planted["db"]
    accounting = dict(
        query(
            db,
            """
        select source_table, outlier_row_count from raw_row_accounting
        where pipeline_stage = 'staging' and outcome = 'accepted' and reason is null""",
        )
    )
    assert accounting == {
        "events": 1,
        "orders": 1,
        "order_items": 0,
        "products": 0,
        "customers": None,
        "consents": None,
        "deletion_requests": None,
        "survey_responses": None,
        "experiment_assignments": None,
    }
    assert query(
        db,
        "select count(*) from raw_row_accounting "
        "where outcome <> 'accepted' and outlier_row_count is not null",
    ) == [(0,)]
    profile = query(
        db,
        """
        select source_table, column_name, value_group, outlier_count, outlier_share > 0
        from data_quality_profile
        where outlier_count > 0
        order by 1""",
    )
    assert profile == [
        ("events", "engaged_seconds", "page_view", 1, True),
        ("orders", "total_amount", "USD", 1, True),
    ]
    judged = query(db, "select count(*) from data_quality_profile where fence_status = 'judged'")
    assert judged[0][0] >= 8  # totals, quantities, prices, engaged seconds, scroll, revenue


def test_segment_summary_averages_with_and_without_the_flagged_order(planted):
    db = planted["db"]
    rows = query(
        db,
        """
        select segment_family, segment_name, outlier_order_count, average_order_value,
            average_order_value_without_outliers
        from segment_summary
        where not is_suppressed""",
    )
    flagged = [row for row in rows if row[2]]
    # the planted order's customer is in one segment per family (a suppressed one hides it)
    assert flagged and all(row[2] == 1 for row in flagged)
    assert len({row[0] for row in flagged}) == len(flagged)
    for _, _, _, with_outliers, without_outliers in flagged:
        assert with_outliers > without_outliers
    for _, _, count, with_outliers, without_outliers in rows:
        if count == 0:
            assert with_outliers == without_outliers
