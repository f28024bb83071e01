"""The read copy the dashboard reads: the marts it shows, as Parquet files, published at the end
of every successful job (`python_utils.jobs.run_job`) or by `python -m python_utils publish`.

DuckDB lets one process write a database file, and a reader cannot open it while a build
writes. So the dashboard never opens the database a build writes: it reads the latest published
copy, which the job publishes while it still holds the database lock (no other job writes
then). A copy is a folder `<db>.published/<n>/` with one Parquet file per mart and
`manifest.json` (as_of, when it was published, which job, rows per mart); `<db>.published/
CURRENT` names the latest one and is replaced atomically (`os.replace`), so a reader sees the
old copy or the new one, never half of one. The two copies before it are kept for readers still
reading them; older ones are removed.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

#: the marts the dashboard reads (dashboard/pages; its exposures name the same marts). Only
#: aggregates and pseudonymous ids: no PII column exists in any of them.
DASHBOARD_MARTS = (
    "segment_summary",
    "segment_kpis_daily",
    "segment_memberships",
    "segment_membership_changes",
    "segment_transitions",
    "segment_health",
    "segment_overlaps",
    "cluster_profiles",
    "customer_cluster_scores",
    "customer_features",
    "content_decisions",
    "person_recommendations",
    "activation_journey_log",
    "activation_outbox",
    "activation_suppressions",
    "audience_sync_status",
    "experiment_readouts",
    "experiment_exposure_summary",
    "feature_drift",
    "monitoring_alerts",
    "segment_model_runs",
    "supervised_model_runs",
    "model_refit_log",
    "raw_row_accounting",
)
#: tables outside dbt that the dashboard shows when they exist, in any schema:
#: `python -m python_utils deliver` writes delivery.activation_delivery_log
OPTIONAL_TABLES = ("activation_delivery_log",)
KEEP_COPIES = 3
CURRENT = "CURRENT"


def published_dir(database: Path) -> Path:
    """Where the copies of a database file are published: `<db>.published/` beside it."""
    return database.with_name(database.name + ".published")


def current_copy(database: Path) -> Path | None:
    """The latest published copy of a database, None before the first."""
    root = published_dir(database)
    pointer = root / CURRENT
    if not pointer.exists():
        return None
    copy = root / pointer.read_text().strip()
    return copy if (copy / "manifest.json").exists() else None


def table_schemas(connection) -> dict[str, str]:
    """Table or view name -> the schema it is in (main first, then by schema name)."""
    schemas: dict[str, str] = {}
    for name, schema in connection.execute(
        "select table_name, table_schema from information_schema.tables "
        "order by table_schema <> 'main', table_schema"
    ).fetchall():
        schemas.setdefault(name, schema)
    return schemas


def publish(
    database: Path,
    job: str = "manual",
    marts: tuple[str, ...] = DASHBOARD_MARTS,
    optional: tuple[str, ...] = OPTIONAL_TABLES,
) -> Path:
    """Copy the marts of a DuckDB file (opened read-only; the caller holds the jobs' lock or
    knows no build runs) to a new published copy and make it the current one. A mart the
    database lacks (a build that stopped before it) is listed in the manifest as missing and
    keeps no file, so the dashboard says so instead of failing; an optional table the database
    lacks (no delivery run yet) is listed as absent. Returns the copy's folder."""
    import duckdb

    root = published_dir(database)
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()]
    number = max(numbers, default=0) + 1
    staging = root / f".{number}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    rows, missing, absent = {}, [], []
    with duckdb.connect(str(database), read_only=True) as connection:
        present = table_schemas(connection)
        for mart in (*marts, *optional):
            if mart not in present:
                (missing if mart in marts else absent).append(mart)
                continue
            target = staging / f"{mart}.parquet"
            relation = f'"{present[mart]}"."{mart}"'
            connection.execute(f"copy (select * from {relation}) to '{target}' (format parquet)")
            rows[mart] = connection.execute(f"select count(*) from {relation}").fetchall()[0][0]
        as_of = (
            str(
                connection.execute("select as_of_date from stg_observation_window").fetchall()[0][0]
            )
            if "stg_observation_window" in present
            else None
        )
    manifest = {
        "copy": number,
        "job": job,
        "as_of_date": as_of,
        "rows": rows,
        "missing": missing,
        "absent": absent,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
    final = root / str(number)
    staging.rename(final)
    pointer = root / f".{CURRENT}.{number}"
    pointer.write_text(str(number))
    os.replace(pointer, root / CURRENT)  # atomic: readers see the old copy or this one
    kept = sorted(numbers)[max(0, len(numbers) - (KEEP_COPIES - 1)) :] if KEEP_COPIES > 1 else []
    for old in set(numbers) - set(kept):
        shutil.rmtree(root / str(old), ignore_errors=True)
    return final
