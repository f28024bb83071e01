"""The incremental event path equals a full build: events land in batches (with late arrivals
inside the lookback, replayed rows under a new file name, and a re-run with nothing new), and
after every batch the incremental staging matches a full build of the same files, row for row."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from dbt_harness import generate, query, run_dbt

ARGS = ("--customers", "300", "--days", "30", "--seed", "3", "--dirty-rate", "0.02")
STAGING = ["--select", "+stg_app__events", "+stg_app__events_quarantine"]
COMPARED = ("base_app__events_triaged", "stg_app__events", "stg_app__events_quarantine")


def split_events(raw: Path, batches: Path) -> list[list[str]]:
    """Cut the events into files by time: days 1-20, 21-25 and 26-30, plus late events (from
    days 21-25, landing with the last batch) and a replay of 200 early rows under a new name.
    Returns the file names that land in each batch."""
    batches.mkdir(parents=True)
    source = f"read_parquet('{raw}/events/*.parquet')"
    day = "try_cast(occurred_at as timestamp)"
    with duckdb.connect() as connection:
        start = connection.sql(f"select min({day})::date from {source}").fetchall()[0][0]
        parts = {
            "part-a.parquet": f"{day} < date '{start}' + 20 or {day} is null",
            "part-b.parquet": f"{day} >= date '{start}' + 20 and {day} < date '{start}' + 25 "
                              "and hash(event_id) % 10 != 0",
            "part-c.parquet": f"{day} >= date '{start}' + 25",
            "late-b.parquet": f"{day} >= date '{start}' + 20 and {day} < date '{start}' + 25 "
                              "and hash(event_id) % 10 = 0",
        }
        for name, condition in parts.items():
            connection.execute(f"copy (select * from {source} where {condition}) "
                               f"to '{batches / name}' (format parquet)")
        connection.execute(f"copy (select * from {source} where {day} < date '{start}' + 10 "
                           f"order by event_id limit 200) to '{batches / 'replay-a.parquet'}' "
                           "(format parquet)")
    return [["part-a.parquet"], ["part-b.parquet"],
            ["part-c.parquet", "late-b.parquet", "replay-a.parquet"], []]


def land(raw: Path, batches: Path, names: list[str]) -> None:
    for name in names:
        shutil.copy(batches / name, raw / "events" / name)


def table_rows(database: Path, table: str) -> list[tuple]:
    return sorted(query(database, f"select * from {table}"), key=repr)


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    source = root / "source"
    generate(source, *ARGS)
    schedule = split_events(source, root / "batches")
    raw = root / "raw"
    shutil.copytree(source, raw, ignore=shutil.ignore_patterns("events"))
    (raw / "events").mkdir()
    return {"root": root, "raw": raw, "batches": root / "batches", "schedule": schedule}


def test_incremental_staging_equals_a_full_build_after_every_batch(batches):
    root, raw = batches["root"], batches["raw"]
    incremental_work = root / "incremental"
    for number, names in enumerate(batches["schedule"], start=1):
        land(raw, batches["batches"], names)
        run = run_dbt(["build", *STAGING], raw, incremental_work)
        assert run.returncode == 0, run.output[-4000:]
        full = run_dbt(["build", *STAGING, "--full-refresh"], raw, root / f"full_{number}")
        assert full.returncode == 0, full.output[-4000:]
        for table in COMPARED:
            assert table_rows(run.database, table) == table_rows(full.database, table), (
                f"{table} differs from a full build after batch {number} {names}")
    reasons = dict(query(run.database, "select reason, count(*) from stg_app__events_quarantine "
                                       "group by 1"))
    assert reasons.get("duplicate_key", 0) >= 200  # the replayed rows
