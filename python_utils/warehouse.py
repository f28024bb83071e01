"""Load a raw folder (the data contract's files) into warehouse tables over a DB-API connection.

Used to put the demo data into Snowflake (or the local fakesnow server the tests start), as
string-typed raw tables with the contract's names: the project's landing views then read them
exactly as they read files on DuckDB. Each row also gets its lineage, the loader columns
`_source_file` (the file's path relative to the raw folder, e.g. `events/part-0.parquet`) and
`_source_row` (0-based row number within the file), the same values the DuckDB target reads
from the files: replays that tie on time are then ordered alike on both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

CONTRACT_TABLES = (
    "events",
    "orders",
    "order_items",
    "customers",
    "products",
    "consents",
    "deletion_requests",
    "survey_responses",
    "experiment_assignments",
)
LINEAGE_COLUMNS = ("_source_file", "_source_row")


def read_raw_table(folder: Path, lineage: bool = True) -> tuple[list[str], list[tuple]]:
    """Columns and rows (all as strings, nulls kept) of every Parquet/CSV file of one table;
    with `lineage`, two more columns: the file relative to the raw folder and the 0-based row
    number within it (what the DuckDB target's landing views read)."""
    parquet = sorted(str(p) for p in folder.glob("*.parquet"))
    csv = sorted(str(p) for p in folder.glob("*.csv"))
    selects = []
    if parquet:
        selects.append(
            f"select * from read_parquet({parquet!r}, union_by_name = true, "
            "filename = true, file_row_number = true)"
        )
    for file in csv:
        selects.append(
            f"select *, ordinality - 1 as file_row_number from read_csv('{file}', header = true, "
            "all_varchar = true, filename = true) with ordinality"
        )
    if not selects:
        return [], []
    with duckdb.connect() as connection:
        relation = connection.sql(" union all by name ".join(selects))
        data_columns = [
            c
            for c in relation.columns
            if c.lower() not in ("filename", "file_row_number", "ordinality", *LINEAGE_COLUMNS)
        ]
        casts = [f'cast("{c}" as varchar) as "{c}"' for c in data_columns]
        columns = [c.lower() for c in data_columns]
        if lineage:
            casts += [
                f"'{folder.name}/' || parse_filename(filename) as _source_file",
                "cast(file_row_number as varchar) as _source_row",
            ]
            columns += list(LINEAGE_COLUMNS)
        rows = connection.execute(
            f"select {', '.join(casts)} from ({' union all by name '.join(selects)}) "
            "order by filename, file_row_number"
        ).fetchall()
    return columns, rows


def load_raw_folder(
    raw_path: Path,
    execute: Callable[[str], Any],
    executemany: Callable[[str, list[tuple]], Any],
    qualified_schema: str,
    batch_size: int = 5000,
    progress: Callable[[str, int], None] | None = None,
    lineage: bool = True,
) -> dict[str, int]:
    """Create `<qualified_schema>.<table>` (all VARCHAR) for every table folder and insert its
    rows, with the loader columns _source_file and _source_row unless `lineage` is false
    (then the landing views derive a row identity from the row's content); absent folders are
    skipped (they are optional, or empty). Returns rows per table."""
    loaded: dict[str, int] = {}
    execute(f"create schema if not exists {qualified_schema}")
    for table in CONTRACT_TABLES:
        folder = raw_path / table
        if not folder.is_dir():
            continue
        columns, rows = read_raw_table(folder, lineage=lineage)
        if not columns:
            continue
        column_sql = ", ".join(f"{c} varchar" for c in columns)
        execute(f"create or replace table {qualified_schema}.{table} ({column_sql})")
        placeholders = ", ".join(["%s"] * len(columns))
        insert = (
            f"insert into {qualified_schema}.{table} ({', '.join(columns)}) values ({placeholders})"
        )
        for start in range(0, len(rows), batch_size):
            executemany(insert, rows[start : start + batch_size])
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
            user="fake",
            password="snow",
            account="fakesnow",
            host="127.0.0.1",
            port=int(os.environ.get("FAKESNOW_PORT", "8765")),
            protocol="http",
            database=os.environ.get("FAKESNOW_DATABASE", "SEGMENTS"),
            network_timeout=120,
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
