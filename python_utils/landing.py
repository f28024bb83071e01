"""Land a generated raw folder day by day: the rows a daily export would hold at the end of a
given day. Tests and the drift report use it to run a sequence of daily builds on one dataset.

Each table's rows land on the day of their time column (rows whose timestamp does not parse
land with the first day: staging quarantines them with their reason); order_items follow their
orders; products have no time and land with the first day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

TIME_COLUMNS = {
    "events": "occurred_at",
    "orders": "ordered_at",
    "customers": "signup_at",
    "consents": "recorded_at",
    "survey_responses": "responded_at",
    "experiment_assignments": "assigned_at",
    "deletion_requests": "requested_at",
}


MARKER = ".landed_through"


def land_through(raw: Path, out: Path, through: date) -> dict[str, int]:
    """Land the rows of `raw` (one folder of Parquet files per table) up to and including
    `through` in `out`, as a daily export would: the first landing writes everything up to
    `through` (and the rows whose timestamp does not parse), each later one adds one new file per
    table with the rows after the previous landing's day (a file already landed never changes,
    as the incremental models expect). Returns the rows added per table."""
    raw, out = Path(raw), Path(out)
    marker = out / MARKER
    previous = date.fromisoformat(marker.read_text().strip()) if marker.exists() else None
    if previous is not None and through <= previous:
        raise ValueError(f"{out} already holds the rows through {previous}")
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    with duckdb.connect() as connection:
        for folder in sorted(p for p in raw.iterdir() if p.is_dir()):
            table = folder.name
            if not any(folder.glob("*.parquet")):
                continue
            source = f"read_parquet('{folder.as_posix()}/*.parquet')"
            column = TIME_COLUMNS.get(table)
            if column is None and table == "order_items":
                source = (
                    f"(select items.*, orders.ordered_at from {source} as items inner join "
                    f"read_parquet('{(raw / 'orders').as_posix()}/*.parquet') as orders "
                    "using (order_id))"
                )
                column = "ordered_at"
            if column is None:
                if previous is not None:
                    continue  # a table without time (products) lands once
                condition = "true"
            else:
                moment = f"try_cast({column} as timestamp)"
                upper = f"{moment} < date '{through.isoformat()}' + 1"
                condition = (
                    f"({moment} is null or {upper})"
                    if previous is None
                    else f"{upper} and {moment} >= date '{previous.isoformat()}' + 1"
                )
            columns = "* exclude (ordered_at)" if table == "order_items" else "*"
            (out / table).mkdir(exist_ok=True)
            target = (out / table / f"landed-{through.isoformat()}.parquet").as_posix()
            connection.execute(
                f"copy (select {columns} from {source} where {condition}) "
                f"to '{target}' (format parquet)"
            )
            counts[table] = connection.sql(
                f"select count(*) from read_parquet('{target}')"
            ).fetchall()[0][0]
    marker.write_text(through.isoformat())
    return counts
