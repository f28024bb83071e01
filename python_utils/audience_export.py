"""Audience files for the ad and e-mail tools, from a built DuckDB database (DuckDB only: on
Snowflake a reverse-ETL tool reads the audience_members / audience_changes tables).

``export_audiences`` writes one CSV per destination and audience of the seed
audience_definitions, ``<out>/<destination_id>/<audience_id>.csv``, holding the audience's rows
of the audience_members mart: ``person_id,match_key_type,match_key``, sorted, UTF-8, ``\\n`` line
ends, a header even for an empty audience. A file is replaced only through a temporary file in
the same folder and an atomic rename, and only when its content changed, so the same database
gives byte-identical files (and untouched modification times) and a reader never sees half a
file. ``<out>/manifest.json`` lists every file with its row count and SHA-256 (no timestamps:
it is as reproducible as the files).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

COLUMNS = ("person_id", "match_key_type", "match_key")


@dataclass(frozen=True)
class ExportedFile:
    """One written (or unchanged) audience file."""

    destination_id: str
    audience_id: str
    path: Path
    rows: int
    sha256: str
    changed: bool


def _write_atomically(path: Path, content: bytes) -> bool:
    """Write content to path through a temporary file and a rename; False when path already
    holds exactly this content (nothing written)."""
    if path.exists() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def _csv_bytes(rows: list[tuple]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _safe_name(value: str) -> str:
    if not value or "/" in value or "\\" in value or value.startswith("."):
        raise ValueError(f"not usable as a file name: {value!r}")
    return value


def export_audiences(database: Path, out: Path) -> list[ExportedFile]:
    """Write every audience's file under out (see the module docstring); returns them sorted by
    destination and audience."""
    if not Path(database).exists():
        raise FileNotFoundError(f"no DuckDB database at {database} (build the project first)")
    with duckdb.connect(str(database), read_only=True) as connection:
        audiences = connection.sql(
            "select distinct destination_id, audience_id from audience_definitions"
            " order by destination_id, audience_id"
        ).fetchall()
        members = connection.sql(
            "select destination_id, audience_id, person_id, match_key_type, match_key"
            " from audience_members"
            " order by destination_id, audience_id, person_id, match_key_type, match_key"
        ).fetchall()
    rows_by_audience: dict[tuple[str, str], list[tuple]] = {key: [] for key in audiences}
    for destination_id, audience_id, *row in members:
        rows_by_audience.setdefault((destination_id, audience_id), []).append(tuple(row))
    exported = []
    for (destination_id, audience_id), rows in sorted(rows_by_audience.items()):
        content = _csv_bytes(rows)
        path = Path(out) / _safe_name(destination_id) / f"{_safe_name(audience_id)}.csv"
        changed = _write_atomically(path, content)
        exported.append(
            ExportedFile(
                destination_id,
                audience_id,
                path,
                len(rows),
                hashlib.sha256(content).hexdigest(),
                changed,
            )
        )
    manifest = {
        "files": [
            {
                "destination_id": f.destination_id,
                "audience_id": f.audience_id,
                "path": f.path.relative_to(out).as_posix(),
                "rows": f.rows,
                "sha256": f.sha256,
            }
            for f in exported
        ]
    }
    _write_atomically(
        Path(out) / "manifest.json",
        (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"),
    )
    return exported
