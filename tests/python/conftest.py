"""Shared fixtures: one small dirty demo dataset and one real `dbt build` on it per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_harness import DbtRun, generate, run_dbt

DEMO_ARGS = ("--customers", "300", "--days", "30", "--seed", "11", "--dirty-rate", "0.05")


@pytest.fixture(scope="session")
def dirty_demo(tmp_path_factory) -> dict:
    """Raw data with every bad-input kind, its ground truth, and a built DuckDB file."""
    root = tmp_path_factory.mktemp("dirty_demo")
    raw = root / "raw"
    truth = root / "ground_truth"
    generate(raw, *DEMO_ARGS, "--truth-out", str(truth))
    run: DbtRun = run_dbt(["build"], raw, root / "work")
    return {"raw": raw, "truth": truth, "run": run, "db": run.database, "root": root}
