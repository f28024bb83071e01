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


def snowflake_connection(local: bool):
    """A Snowflake connection from the same environment variables as profiles.yml
    (SNOWFLAKE_*), or to the local fakesnow server (FAKESNOW_PORT) when `local`."""
    import os

    import snowflake.connector

    if local:
        return snowflake.connector.connect(
            user="fake", password="snow", account="fakesnow", host="127.0.0.1",
            port=int(os.environ.get("FAKESNOW_PORT", "8765")), protocol="http",
            database=os.environ.get("FAKESNOW_DATABASE", "SEGMENTS"), network_timeout=120,
        )
    settings = {
        "account": os.environ["SNOWFLAKE_ACCOUNT"],
        "user": os.environ["SNOWFLAKE_USER"],
        "role": os.environ.get("SNOWFLAKE_ROLE") or None,
        "warehouse": os.environ.get("SNOWFLAKE_WAREHOUSE") or None,
        "database": os.environ.get("SNOWFLAKE_DATABASE", "ANALYTICS"),
    }
    if os.environ.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
        settings["private_key_file"] = os.environ["SNOWFLAKE_PRIVATE_KEY_PATH"]
        if os.environ.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"):
            settings["private_key_file_pwd"] = os.environ["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"]
    else:
        settings["password"] = os.environ["SNOWFLAKE_PASSWORD"]
    return snowflake.connector.connect(**settings)
