"""The project installed as a dbt package: integration_tests/ is a dbt project of its own that
installs this one through packages.yml (a local path), scopes a few of its variables to the
package, points it at its own raw data and adds a model on top of customer_segments. One
`dbt deps` and one `dbt build` (every model, data test and unit test of the package, and the
project's own) on generated data, in a copy of integration_tests/ so the checkout stays clean."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import duckdb
import pytest

from dbt_harness import DBT, PROJECT_DIR, generate


@pytest.fixture(scope="module")
def package_build(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("package")
    raw = root / "raw"
    generate(raw, "--customers", "300", "--days", "30", "--seed", "11", "--dirty-rate", "0.02")
    project = root / "integration_tests"
    shutil.copytree(
        PROJECT_DIR / "integration_tests",
        project,
        ignore=shutil.ignore_patterns("dbt_packages", "target", "logs", "package-lock.yml"),
    )
    (project / "packages.yml").write_text(f"packages:\n  - local: {PROJECT_DIR}\n")
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "SEGMENTS_RAW_PATH": str(raw),
        "SEGMENTS_DUCKDB_PATH": str(root / "integration.duckdb"),
        "SEGMENTS_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_LOG_LEVEL_FILE": "none",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("SEGMENTS_TARGET", None)
    outputs = []
    for command in (["deps"], ["build"]):
        done = subprocess.run(
            [DBT, *command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        outputs.append(done.stdout)
        assert done.returncode == 0, done.stdout[-6000:]
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return {
        "project": project,
        "database": root / "integration.duckdb",
        "results": results,
        "output": outputs[-1],
    }


def test_the_package_builds_and_tests_green_with_the_project_on_top(package_build):
    results = package_build["results"]
    failed = [r["unique_id"] for r in results if r["status"] in ("error", "fail", "skipped")]
    assert failed == []
    ran = {r["unique_id"] for r in results}
    # the package's models, data tests and unit tests ran, and the project's own model
    assert "model.segments.customer_segments" in ran
    assert "model.segments.segment_model_runs" in ran  # a Python model of the package
    assert "seed.segments.segment_catalog" in ran
    assert any(u.startswith("unit_test.segments.") for u in ran)
    assert "model.segments_integration_tests.segment_sizes_by_tier" in ran
    # the package's on-run-start hook created its landing views over the project's raw files
    landing = next(
        line for line in package_build["output"].splitlines() if "Landing views:" in line
    )
    for table in ("events", "orders", "customers", "consents"):
        assert f"{table}: 1 file(s)" in landing, landing


def test_the_projects_model_reads_the_packages_marts(package_build):
    with duckdb.connect(str(package_build["database"]), read_only=True) as connection:
        differ = connection.execute(
            """select count(*) from (
                select rfm_segment, churn_risk_tier, count(*) as person_count
                from customer_segments group by 1, 2
                except all select * from segment_sizes_by_tier)"""
        ).fetchall()[0][0]
        persons = connection.execute(
            "select sum(person_count) from segment_sizes_by_tier"
        ).fetchall()[0][0]
        events = connection.execute("select count(*) from stg_app__events").fetchall()[0][0]
    assert differ == 0 and persons > 100 and events > 1000


def test_variables_scoped_to_the_package_reach_its_models(package_build):
    """integration_tests/dbt_project.yml sets vars: segments: rule_lapsed_after_days: 45 (the
    package's default is 60)."""
    compiled = (
        package_build["project"]
        / "target"
        / "compiled"
        / "segments"
        / "models"
        / "marts"
        / "segmentation"
        / "customer_rule_segments.sql"
    ).read_text()
    assert "-45 as bigint" in compiled and "-60 as bigint" not in compiled
