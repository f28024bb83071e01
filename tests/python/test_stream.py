"""The streaming demo's data handling: holding back the latest events and landing them in
micro-batches loses and duplicates nothing (the dbt side is proven in test_incremental)."""

from __future__ import annotations

import duckdb

from dbt_harness import generate
from python_utils.stream import hold_back, land


def _events(folder) -> list[tuple]:
    return sorted(
        duckdb.sql(f"select * from read_parquet('{folder}/*.parquet')").fetchall(), key=repr
    )


def test_held_back_events_land_whole_in_batches(tmp_path):
    raw = tmp_path / "raw"
    generate(raw, "--customers", "60", "--days", "5", "--seed", "4")
    original = _events(raw / "events")
    held = tmp_path / "held.parquet"
    count, cut, last = hold_back(raw, held, hold_hours=3)
    assert 0 < count < len(original) and cut < last
    kept = _events(raw / "events")
    assert len(kept) + count == len(original)
    assert duckdb.sql(
        f"select max(try_cast(occurred_at as timestamp)) < '{cut}' "
        f"from read_parquet('{raw}/events/*.parquet')"
    ).fetchall()[0][0]
    bounds = duckdb.sql(
        f"select cast('{cut}' as timestamp) + interval 1 hour, "
        f"cast('{cut}' as timestamp) + interval 2 hour"
    ).fetchall()[0]
    landed = [
        land(held, raw / "events" / "stream-00001.parquet", end=bounds[0].isoformat()),
        land(
            held,
            raw / "events" / "stream-00002.parquet",
            bounds[0].isoformat(),
            bounds[1].isoformat(),
        ),
        land(held, raw / "events" / "stream-00003.parquet", start=bounds[1].isoformat()),
    ]
    assert sum(landed) == count and all(landed)
    assert _events(raw / "events") == original
    assert not list((raw / "events").glob("*.part"))


def test_share_holds_back_the_latest_events(tmp_path):
    raw = tmp_path / "raw"
    generate(raw, "--customers", "60", "--days", "5", "--seed", "4")
    total = len(_events(raw / "events"))
    count, _, _ = hold_back(raw, tmp_path / "held.parquet", share=0.01)
    assert abs(count - total * 0.01) <= max(3, total * 0.002)
