"""Where the dashboard's data comes from: the marts, read-only, never a PII column.

On DuckDB (the default) it reads the latest read copy a job published (`python_utils.publish`:
Parquet files, replaced atomically at the end of every successful job), so a build writing the
database never blocks it: the page shows the last good data and its age. Before any copy exists
it opens the database file itself, read-only; while a build holds that file it says so. On
Snowflake (SEGMENTS_DASHBOARD_SOURCE=snowflake) it reads the same marts with the connector and
the environment variables the dbt profiles use (SNOWFLAKE_ACCOUNT, _USER, _PASSWORD or
_PRIVATE_KEY_PATH, _ROLE, _WAREHOUSE, _DATABASE, _SCHEMA).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from python_utils.publish import DASHBOARD_MARTS, OPTIONAL_TABLES, current_copy, table_schemas

PROJECT_DIR = Path(__file__).resolve().parent.parent


class DataUnavailable(RuntimeError):
    """No data to show yet (no build, or a build holds the only copy): the message says why."""


@dataclass(frozen=True)
class Freshness:
    """What the page is showing: the source, the data's as_of and when it was published."""

    source: str
    as_of_date: str | None
    published_at: str | None
    copy: str

    def age(self, now: datetime | None = None) -> str:
        """'published 3 min ago' (or the source when there is no publication time)."""
        if not self.published_at:
            return self.source
        published = datetime.fromisoformat(self.published_at)
        minutes = ((now or datetime.now(UTC)) - published).total_seconds() / 60
        if minutes < 1:
            return "published just now"
        if minutes < 120:
            return f"published {minutes:.0f} min ago"
        return f"published {minutes / 60:.1f} h ago"


def database_path() -> Path:
    """The DuckDB file the builds write (SEGMENTS_DUCKDB_PATH, relative to the project)."""
    path = Path(os.environ.get("SEGMENTS_DUCKDB_PATH") or "data/segments.duckdb")
    return path if path.is_absolute() else PROJECT_DIR / path


def source_name() -> str:
    return os.environ.get("SEGMENTS_DASHBOARD_SOURCE", "duckdb").lower()


def _check_mart(name: str) -> None:
    if name not in DASHBOARD_MARTS and name not in OPTIONAL_TABLES:
        raise ValueError(
            f"{name} is not one of the dashboard's marts (python_utils.publish.DASHBOARD_MARTS)"
        )


def freshness() -> Freshness:
    """Which data the page reads now."""
    if source_name() == "snowflake":
        return Freshness("Snowflake", None, None, "live")
    database = database_path()
    copy = current_copy(database)
    if copy is not None:
        manifest = json.loads((copy / "manifest.json").read_text())
        return Freshness(
            f"read copy {copy.name} ({manifest['job']} job)",
            manifest.get("as_of_date"),
            manifest.get("published_at"),
            copy.name,
        )
    if not database.exists():
        raise DataUnavailable(f"no database at {database}: run `make demo` (or `make build`) first")
    return Freshness(f"{database.name} (read-only)", None, None, "database")


def read_mart(name: str, copy: str) -> pd.DataFrame:
    """One mart as a frame (lower-case columns), from the copy `freshness()` named."""
    _check_mart(name)
    if copy == "live":
        if name in OPTIONAL_TABLES:  # python -m python_utils deliver logs to the DuckDB file
            raise DataUnavailable(f"no {name} on Snowflake")
        return _read_snowflake(name)
    database = database_path()
    if copy == "database":
        return _read_database(database, name)
    path = database.with_name(database.name + ".published") / copy / f"{name}.parquet"
    if not path.exists():
        manifest = json.loads((path.parent / "manifest.json").read_text())
        if name in manifest.get("missing", []):
            raise DataUnavailable(f"the build that published copy {copy} had no {name}")
        if name in manifest.get("absent", []):
            raise DataUnavailable(f"no {name} yet")
        raise DataUnavailable(f"copy {copy} lacks {path.name}")
    return pd.read_parquet(path)


def _read_database(database: Path, name: str) -> pd.DataFrame:
    import duckdb

    try:
        connection = duckdb.connect(str(database), read_only=True)
    except duckdb.IOException as exc:  # a build holds the file and no copy is published yet
        raise DataUnavailable(
            f"a build is writing {database.name} and no read copy is published yet; the "
            "page shows data once the build ends (every job publishes one)"
        ) from exc
    with connection:
        schema = table_schemas(connection).get(name)
        if schema is None:
            raise DataUnavailable(f"no {name} in {database.name} yet")
        return connection.execute(f'select * from "{schema}"."{name}"').df()


def _read_snowflake(name: str) -> pd.DataFrame:
    import snowflake.connector

    env = os.environ
    options = {
        "account": env["SNOWFLAKE_ACCOUNT"],
        "user": env["SNOWFLAKE_USER"],
        "role": env.get("SNOWFLAKE_ROLE") or None,
        "warehouse": env.get("SNOWFLAKE_WAREHOUSE") or None,
        "database": env.get("SNOWFLAKE_DATABASE", "ANALYTICS"),
        "schema": env.get("SNOWFLAKE_SCHEMA", "SEGMENTS"),
    }
    # a proxy, private link or local emulator (the tests' fakesnow server): host, port, protocol
    for option in ("host", "port", "protocol"):
        if env.get(f"SNOWFLAKE_{option.upper()}"):
            options[option] = env[f"SNOWFLAKE_{option.upper()}"]
    if env.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
        options["private_key_file"] = env["SNOWFLAKE_PRIVATE_KEY_PATH"]
        if env.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"):
            options["private_key_file_pwd"] = env["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"]
    else:
        options["password"] = env["SNOWFLAKE_PASSWORD"]
    with snowflake.connector.connect(**{k: v for k, v in options.items() if v}) as connection:
        cursor = connection.cursor()
        cursor.execute(f"select * from {name}")
        frame = cursor.fetch_pandas_all()
    frame.columns = [c.lower() for c in frame.columns]
    return frame
