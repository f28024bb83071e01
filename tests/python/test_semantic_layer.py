"""The semantic layer (models/marts/semantic): MetricFlow validates the semantic models and
metrics against the dirty demo's build (`mf validate-configs`), and `mf query` returns the
numbers of the marts: members and KPIs per segment equal segment_summary, active members over 28
days equal a count over sessions. Skipped, with the reason, without the `semantic` extra
(dbt-metricflow); make setup and .ci/run install it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dbt_harness import PROJECT_DIR, write_profiles

pytest.importorskip(
    "dbt_metricflow",
    reason="the semantic extra is not installed (pip install -e '.[semantic]'; make setup does)",
)
MF = str(Path(sys.executable).parent / "mf")
KPIS = ["members", "conversion_rate", "revenue_per_member", "average_order_value", "churn_rate"]
#: segment_summary rounds each KPI to this many decimals
DECIMALS = {
    "conversion_rate": 4,
    "revenue_per_member": 2,
    "average_order_value": 2,
    "churn_rate": 4,
}


@pytest.fixture(scope="module")
def mf(dirty_demo, tmp_path_factory):
    """`mf` in a project root of its own: MetricFlow reads <root>/target/semantic_manifest.json,
    so the root links every entry of the project but target/, which holds the demo build's
    semantic manifest; the profile points at a copy of the demo database."""
    root = tmp_path_factory.mktemp("semantic")
    project = root / "project"
    project.mkdir()
    for entry in PROJECT_DIR.iterdir():
        if entry.name not in ("target", "logs", "dbt_packages", "profiles.yml"):
            (project / entry.name).symlink_to(entry)
    (project / "target").mkdir()
    shutil.copy(dirty_demo["run"].target_path / "semantic_manifest.json", project / "target")
    database = root / "segments.duckdb"
    shutil.copy(dirty_demo["db"], database)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(write_profiles(root / "profiles")),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "SEGMENTS_TARGET": "duckdb",
        "SEGMENTS_RAW_PATH": str(dirty_demo["raw"]),
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [MF, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    def query(metrics: list[str], group_by: str, *extra: str) -> pd.DataFrame:
        out = root / f"{group_by}.csv"
        run(
            "query",
            "--metrics",
            ",".join(metrics),
            "--group-by",
            group_by,
            "--csv",
            str(out),
            *extra,
        )
        return pd.read_csv(out)

    return {"run": run, "query": query, "database": database}


def marts(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).df()


def test_validate_configs_finds_no_error(mf):
    output = mf["run"]("validate-configs").stdout
    assert "Successfully validated the semantics" in output, output
    assert "ERRORS: 0" in output and "ERRORS: 1" not in output, output


@pytest.mark.parametrize(
    "family, dimension",
    [
        ("rfm", "person__rfm_segment"),
        ("cluster", "person__cluster"),
        ("rule", "person__rule_segment"),
        ("engagement_tier", "person__engagement_tier"),
    ],
)
def test_mf_query_equals_segment_summary(mf, family, dimension):
    metrics = mf["query"](KPIS, dimension).rename(
        columns={dimension: "segment_name", **{kpi: f"{kpi}_mf" for kpi in KPIS}}
    )
    summary = marts(
        mf["database"],
        f"""select * from segment_summary
                                        where segment_family = '{family}'""",
    )
    assert len(summary) >= 2
    both = summary.merge(metrics, on="segment_name", how="outer", indicator=True)
    assert (both["_merge"] == "both").all(), both[["segment_name", "_merge"]]
    shown = both[~both["is_suppressed"]]
    assert len(shown) >= 2
    assert (shown["member_count"] == shown["members_mf"]).all()
    for kpi, decimals in DECIMALS.items():
        mart, semantic = shown[kpi], shown[f"{kpi}_mf"]
        assert (mart.isna() == semantic.isna()).all(), (kpi, shown[["segment_name", kpi]])
        assert (
            (mart - semantic).abs().dropna() <= 10**-decimals / 2 + 1e-9  # the rounding
        ).all(), (kpi, shown[["segment_name", kpi, f"{kpi}_mf"]])
    # suppressed segments: the metric layer has the count, the mart hides it (k-anonymity)
    assert both.loc[both["is_suppressed"], "member_count"].isna().all()


def test_active_members_over_28_days_equal_a_count_of_sessions(mf):
    as_of = str(marts(mf["database"], "select as_of_date from stg_observation_window").iloc[0, 0])[
        :10
    ]
    daily = mf["query"](["active_members_28d"], "metric_time__day", "--end-time", as_of)
    daily["day"] = daily["metric_time__day"].astype(str).str[:10]
    counted = marts(
        mf["database"],
        f"""
        select count(distinct person_id) as n from sessions
        where session_date between date '{as_of}' - 27 and date '{as_of}'""",
    ).iloc[0, 0]
    assert counted > 0
    assert int(daily.loc[daily["day"] == as_of, "active_members_28d"].iloc[0]) == counted
