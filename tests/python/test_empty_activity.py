"""Events and orders may both be empty (data contract section 1), but then as_of cannot be
derived from the data: the build stops with a message asking for --vars as_of, and builds once
it is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_harness import FakesnowServer, run_dbt, scalar

pytestmark = pytest.mark.dbt

CUSTOMERS_CSV = "customer_id,email,signup_at\nc1,c1@example.com,2026-03-01T10:00:00\n"
SELECT = ["build", "--select", "+stg_observation_window", "--exclude", "test_type:unit"]


def _customers_only(folder: Path) -> Path:
    (folder / "customers").mkdir(parents=True)
    (folder / "customers" / "customers.csv").write_text(CUSTOMERS_CSV)
    return folder


def _assert_stopped_asking_for_as_of(stopped) -> None:
    assert stopped.returncode != 0
    assert "as_of cannot be derived" in stopped.output
    assert '--vars \'{"as_of": "YYYY-MM-DD"}\'' in stopped.output
    assert [
        r["status"]
        for r in stopped.results()
        if r["unique_id"] == "model.segments.stg_observation_window"
    ] == ["error"]


def test_without_events_and_orders_the_build_asks_for_as_of(tmp_path):
    raw = _customers_only(tmp_path / "raw")
    _assert_stopped_asking_for_as_of(run_dbt(SELECT, raw, tmp_path / "derived"))

    given = run_dbt(SELECT, raw, tmp_path / "given", dbt_vars={"as_of": "2026-03-06"})
    assert given.returncode == 0, given.output[-4000:]
    assert str(scalar(given.database, "select as_of_date from stg_observation_window")) == (
        "2026-03-06"
    )
    assert scalar(given.database, "select derived_as_of_date from stg_observation_window") is None


def test_without_events_and_orders_the_build_asks_for_as_of_on_snowflake_local(tmp_path):
    """The same stop on the Snowflake-compatible target (its table materialization registers
    the table only after the post-hook, which must not depend on that)."""
    raw = _customers_only(tmp_path / "raw")
    with FakesnowServer(tmp_path / "fakesnow.log") as server:
        stopped = run_dbt(
            SELECT,
            raw,
            tmp_path / "snowflake",
            target="snowflake_local",
            extra_env={"FAKESNOW_PORT": str(server.port)},
        )
    _assert_stopped_asking_for_as_of(stopped)
