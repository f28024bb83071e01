"""`python -m python_utils history`: a database with a history, for the dashboard's trends and
the README's screenshots. Lands a generated raw folder day by day (python_utils/landing.py) and
runs the daily job (`python -m python_utils run daily`, what `make build` runs: dbt build,
logs, read copy) after each of the last N days, so the KPI trends, drift heatmap, transitions
and model runs have N builds, as after N days of production."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from python_utils.landing import land_through

PROJECT_DIR = Path(__file__).resolve().parent.parent


def last_day(raw: Path) -> date:
    """The last day of the events in raw/events: the latest day with at least a tenth of the
    busiest day's events (the dirty rows the generator plants include timestamps years off)."""
    return duckdb.sql(f"""
        with days as (
            select try_cast(occurred_at as timestamp)::date as day, count(*) as n
            from read_parquet('{raw / "events"}/*.parquet')
            group by 1
        )
        select max(day) from days
        where n >= 0.1 * (select max(n) from days)""").fetchall()[0][0]


def run(raw: str, out: str, builds: int, dbt_args: list[str]) -> int:
    raw_dir, out_dir = Path(raw).resolve(), Path(out).resolve()
    landed, database = out_dir / "landed", out_dir / "segments.duckdb"
    out_dir.mkdir(parents=True, exist_ok=True)
    # a fresh start: what an earlier run left (its own files only)
    shutil.rmtree(landed, ignore_errors=True)
    shutil.rmtree(out_dir / (database.name + ".published"), ignore_errors=True)
    for leftover in (
        database,
        database.with_name(database.name + ".wal"),
        database.with_name(database.name + ".runs.jsonl"),
        out_dir / "build.log",
    ):
        leftover.unlink(missing_ok=True)
    end = last_day(raw_dir)
    days = [end - timedelta(days=builds - 1 - i) for i in range(builds)]
    env = {**os.environ, "SEGMENTS_RAW_PATH": str(landed), "SEGMENTS_DUCKDB_PATH": str(database)}
    print(f"{builds} daily builds, {days[0]} to {days[-1]}, into {database}", flush=True)
    for index, day in enumerate(days, 1):
        added = land_through(raw_dir, landed, day)
        started = time.perf_counter()
        code = subprocess.call(
            [
                sys.executable,
                "-m",
                "python_utils",
                "run",
                "daily",
                "--",
                "--target-path",
                str(out_dir / "target"),
                "--log-path",
                str(out_dir / "logs"),
                *dbt_args,
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=(out_dir / "build.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        print(
            f"  [{index}/{builds}] {day}: +{sum(added.values()):,} rows landed, daily job "
            f"{time.perf_counter() - started:.0f} s, exit {code}",
            flush=True,
        )
        if code:
            print(f"the daily job failed: see {out_dir / 'build.log'}", file=sys.stderr)
            return code
    return 0
