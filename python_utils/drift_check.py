"""`python -m python_utils drift-check`: daily builds on one generated dataset, with and without
the generator's drift option, and a report of what the monitoring saw: per build the refit
decisions, the features at moderate and major and the alerts by severity; in total the
readings and alerts that fired without any planted drift (false alarms) and whether every
shifted feature reached major under drift (and no unshifted one did)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from python_utils.landing import land_through

PROJECT_DIR = Path(__file__).resolve().parent.parent
DRIFT_CHECKS = "'feature_drift', 'segment_size_drift', 'model_input_drift'"
SELECT = [
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


def _build(work: Path, landed: Path) -> float:
    dbt = str(Path(sys.executable).parent / "dbt")
    env = {
        "SEGMENTS_RAW_PATH": str(landed),
        "SEGMENTS_DUCKDB_PATH": str(work / "db.duckdb"),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "SEGMENTS_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_LOG_LEVEL_FILE": "none",
    }
    started = time.perf_counter()
    with open(work / "dbt.log", "a") as log:
        code = subprocess.call(
            [
                dbt,
                "build",
                *SELECT,
                "--target-path",
                str(work / "target"),
                "--log-path",
                str(work / "logs"),
            ],
            cwd=PROJECT_DIR,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if code:
        raise RuntimeError(f"dbt build failed: see {work / 'dbt.log'}")
    return time.perf_counter() - started


def _sequence(name: str, raw: Path, work: Path, days: list[date]) -> pd.DataFrame:
    landed = work / "landed"
    rows = []
    for index, day in enumerate(days, 1):
        land_through(raw, landed, day)
        seconds = _build(work, landed)
        with duckdb.connect(str(work / "db.duckdb"), read_only=True) as connection:
            drift = connection.sql(
                f"select feature, psi, drift_level from feature_drift "
                f"where as_of_date = date '{day}'"
            ).df()
            alerts = connection.sql(f"""select severity, "check" in ({DRIFT_CHECKS}) as drift,
                                            count(*) as n from monitoring_alerts
                                        where as_of_date = date '{day}' group by 1, 2""").df()
            refits = connection.sql(
                f"select model_name, decision, reason from model_refit_log "
                f"where as_of_date = date '{day}' order by 1"
            ).df()
        by_severity = alerts.groupby("severity")["n"].sum().to_dict()
        drift_alerts = alerts[alerts["drift"] & alerts["severity"].isin(["warning", "critical"])]
        row = {
            "sequence": name,
            "build": index,
            "as_of": day.isoformat(),
            "seconds": round(seconds, 1),
            "major": sorted(drift.loc[drift["drift_level"] == "major", "feature"]),
            "moderate": sorted(drift.loc[drift["drift_level"] == "moderate", "feature"]),
            "critical_alerts": int(by_severity.get("critical", 0)),
            "warning_alerts": int(by_severity.get("warning", 0)),
            "drift_alerts": int(drift_alerts["n"].sum()),
            "refits": ", ".join(
                f"{r.model_name}: {r.decision} ({r.reason})" for r in refits.itertuples()
            ),
        }
        rows.append(row)
        print(
            f"  [{name} {index}/{len(days)}] {row['as_of']} {row['seconds']} s; major "
            f"{row['major'] or '-'}; moderate {len(row['moderate'])}; alerts critical "
            f"{row['critical_alerts']} warning {row['warning_alerts']} (drift "
            f"{row['drift_alerts']}); {row['refits']}",
            flush=True,
        )
    return pd.DataFrame(rows)


def run(out: str, customers: int, days: int, seed: int, builds: int, drift_after: int) -> int:
    out_dir = Path(out).resolve()
    end = date(2026, 6, 30)
    first = end - timedelta(days=days - 1)
    start = first + timedelta(days=days - builds - 8)  # the last build leaves a week of data
    build_days = [start + timedelta(days=i) for i in range(builds)]
    drift_from = start + timedelta(days=1)
    report = {}
    for name, extra in (("steady", []), ("drifted", ["--drift-from", drift_from.isoformat()])):
        work = out_dir / name
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        print(
            f"[{name}] generating {customers:,} customers, {days} days"
            + (f", drift from {drift_from}" if extra else "")
            + " ...",
            flush=True,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "python_utils",
                "generate",
                "--customers",
                str(customers),
                "--days",
                str(days),
                "--seed",
                str(seed),
                "--out",
                str(work / "raw"),
                "--quiet",
                *extra,
            ],
            check=True,
            cwd=PROJECT_DIR,
            capture_output=True,
        )
        sequence = build_days if name == "steady" else [start, start + timedelta(days=drift_after)]
        report[name] = _sequence(name, work / "raw", work, sequence)
    steady, drifted = report["steady"], report["drifted"]
    shifted = set(
        pd.read_parquet(out_dir / "drifted" / "ground_truth" / "drift.parquet")["feature"]
    )
    last = drifted.iloc[-1]
    summary = {
        "builds_without_drift": len(steady),
        "feature_readings_without_drift": int(len(steady) * 15),
        "false_major_readings": int(steady["major"].map(len).sum()),
        "false_moderate_readings": int(steady["moderate"].map(len).sum()),
        "false_critical_alerts": int(steady["critical_alerts"].sum()),
        "false_warning_alerts": int(steady["warning_alerts"].sum()),
        "false_drift_alerts": int(steady["drift_alerts"].sum()),
        "drift_days_before_check": drift_after,
        "shifted_features": sorted(shifted),
        "shifted_at_major": sorted(shifted & set(last["major"])),
        "unshifted_at_major": sorted(set(last["major"]) - shifted),
    }
    (out_dir / "drift_check.json").write_text(
        json.dumps(
            {"summary": summary, "builds": pd.concat([steady, drifted]).to_dict("records")},
            indent=2,
            default=str,
        )
    )
    print("\nDrift check (python -m python_utils drift-check)")
    print(
        f"  without drift: {summary['builds_without_drift']} daily builds, "
        f"{summary['feature_readings_without_drift']} feature readings: "
        f"{summary['false_major_readings']} major, {summary['false_moderate_readings']} "
        f"moderate; alerts: {summary['false_critical_alerts']} critical, "
        f"{summary['false_warning_alerts']} warning, of which drift (feature, segment size, "
        f"model input): {summary['false_drift_alerts']}"
    )
    print(
        f"  with drift, {drift_after} days in: shifted {summary['shifted_features']} -> major "
        f"{summary['shifted_at_major']}; unshifted at major: "
        f"{summary['unshifted_at_major'] or 'none'}"
    )
    print(f"  report: {out_dir / 'drift_check.json'}")
    ok = (
        summary["false_critical_alerts"] == 0
        and not summary["unshifted_at_major"]
        and set(summary["shifted_at_major"]) == shifted
    )
    return 0 if ok else 1
