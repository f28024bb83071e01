"""Shared fixtures: one small dirty demo dataset and one real `dbt build` on it per session.

Under `pytest -n N --dist loadfile` (make test) the files are handed out by SlowestFirstScheduling
below: the files that use dirty_demo go to one worker (the session fixture is built once, not once
per worker), and the longest files start first, so no worker is left alone with a long file at
the end."""

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


@pytest.fixture(scope="session")
def activation_demo(tmp_path_factory) -> dict:
    """One dataset and one sequence of dbt runs for the activation files (activation_harness):
    recommendations, audiences, journeys."""
    from activation_harness import build_all

    return build_all(tmp_path_factory.mktemp("activation_demo"))


# --- scheduling under xdist ------------------------------------------------------------------

# The files whose tests use the session fixture dirty_demo: one work unit, so one build of it.
DIRTY_DEMO_FILES = frozenset(
    {
        "test_conventions.py",
        "test_pii.py",
        "test_pipeline_e2e.py",
        "test_segments.py",
        "test_dashboard.py",
        "test_dashboard_browser.py",
        "test_semantic_layer.py",
    }
)
DIRTY_DEMO_UNIT = "dirty_demo files"
# The files whose tests use the session fixture activation_demo: one unit too.
ACTIVATION_FILES = frozenset({"test_recommendations.py", "test_audiences.py", "test_journeys.py"})
ACTIVATION_UNIT = "activation_demo files"
# Seconds a file takes on one worker of `make test` (setup and calls, measured on 2 cores), to
# hand out the longest first. Only the order matters. A file missing here counts as the longest:
# a new file starts first, where it cannot end up alone at the end of the run.
FILE_SECONDS = {
    "test_snowflake_parity.py": 300,
    "test_model_in_force.py": 100,
    "test_data_shapes.py": 60,
    "test_cluster_names.py": 6,
    "test_jobs.py": 220,
    "test_ml_models.py": 210,
    "test_incremental.py": 200,
    DIRTY_DEMO_UNIT: 290,
    "test_contract_inputs.py": 110,
    "test_consent.py": 85,
    ACTIVATION_UNIT: 300,
    "test_compile_empty.py": 75,
    "test_empty_activity.py": 45,
    "test_outliers.py": 35,
    "test_lint.py": 45,
    "test_clustering.py": 8,
    "test_clustering_degenerate.py": 6,
    "test_supervised.py": 5,
    "test_generator.py": 12,
    "test_identity_eval.py": 3,
    "test_stream.py": 3,
    "test_deliver.py": 7,
    "test_experiments_e2e.py": 60,
    "test_experiment_stats.py": 15,
    "test_monitoring.py": 150,
    "test_drift_stats.py": 3,
    "test_charts.py": 2,
    "test_package.py": 40,
}
UNKNOWN_SECONDS = 10**6
# Files without module fixtures whose tests each make a full build: every test is a unit, so
# the shapes spread over the workers (FILE_SECONDS gives the time of one of its tests).
SPLIT_FILES = frozenset({"test_data_shapes.py"})


try:
    from xdist.scheduler import LoadFileScheduling
except ImportError:  # pytest without xdist: nothing to schedule
    LoadFileScheduling = None

if LoadFileScheduling is not None:

    class SlowestFirstScheduling(LoadFileScheduling):
        """--dist loadfile with the dirty_demo files as one unit, longest unit first."""

        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            if Path(path).name in SPLIT_FILES:
                return nodeid  # no module fixture: every test (each shape) is a unit of its own
            name = Path(path).name
            if name in DIRTY_DEMO_FILES:
                return DIRTY_DEMO_UNIT
            return ACTIVATION_UNIT if name in ACTIVATION_FILES else path

        def _assign_work_unit(self, node) -> None:
            longest = max(
                self.workqueue,
                key=lambda unit: FILE_SECONDS.get(
                    unit
                    if unit in (DIRTY_DEMO_UNIT, ACTIVATION_UNIT)
                    else Path(unit.split("::")[0]).name,
                    UNKNOWN_SECONDS,
                ),
            )
            self.workqueue.move_to_end(longest, last=False)
            super()._assign_work_unit(node)

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(config, log):
        if config.getvalue("dist") == "loadfile":
            return SlowestFirstScheduling(config, log)
        return None
