"""Load a raw folder (the data contract's files) into warehouse tables over a DB-API connection.

Used to put the demo data into Snowflake (or the local fakesnow server the tests start), as
string-typed raw tables with the contract's names: the project's landing views then read them
exactly as they read files on DuckDB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import duckdb

CONTRACT_TABLES = (
    "events", "orders", "order_items", "customers", "products", "consents",
    "deletion_requests", "survey_responses", "experiment_assignments",
)


def read_raw_table(folder: Path) -> tuple[list[str], list[tuple]]:
    """Columns and rows (all as strings, nulls kept) of every Parquet/CSV file of one table."""
    parquet = sorted(str(p) for p in folder.glob("*.parquet"))
    csv = sorted(str(p) for p in folder.glob("*.csv"))
    selects = []
    if parquet:
        selects.append(f"select * from read_parquet({parquet!r}, union_by_name = true)")
    for file in csv:
        selects.append(f"select * from read_csv('{file}', header = true, all_varchar = true)")
    if not selects:
        return [], []
    with duckdb.connect() as connection:
        relation = connection.sql(" union all by name ".join(selects))
        columns = [c.lower() for c in relation.columns]
        casts = ", ".join(f'cast("{c}" as varchar) as "{c}"' for c in relation.columns)
        rows = connection.execute(
            f"select {casts} from ({' union all by name '.join(selects)})"
        ).fetchall()
    return columns, rows


def load_raw_folder(
    raw_path: Path,
    execute: Callable[[str], Any],
    executemany: Callable[[str, list[tuple]], Any],
    qualified_schema: str,
    batch_size: int = 5000,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Create `<qualified_schema>.<table>` (all VARCHAR) for every table folder and insert its
    rows; absent folders are skipped (they are optional, or empty). Returns rows per table."""
    loaded: dict[str, int] = {}
    execute(f"create schema if not exists {qualified_schema}")
    for table in CONTRACT_TABLES:
        folder = raw_path / table
        if not folder.is_dir():
            continue
        columns, rows = read_raw_table(folder)
        if not columns:
            continue
        column_sql = ", ".join(f"{c} varchar" for c in columns)
        execute(f"create or replace table {qualified_schema}.{table} ({column_sql})")
        placeholders = ", ".join(["%s"] * len(columns))
        insert = f"insert into {qualified_schema}.{table} ({', '.join(columns)}) values ({placeholders})"
        for start in range(0, len(rows), batch_size):
            executemany(insert, rows[start:start + batch_size])
        loaded[table] = len(rows)
        if progress:
            progress(table, len(rows))
    return loaded
