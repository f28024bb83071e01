"""Helpers that run the real project (generator CLI, dbt) in isolated folders for the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DBT = str(VENV_BIN / "dbt")


@dataclass
class DbtRun:
    """Outcome of one dbt invocation."""

    returncode: int
    output: str
    target_path: Path
    database: Path
    run_results: list[dict]
    manifest: dict

    def results(self) -> list[dict]:
        return self.run_results

    def failures(self) -> list[str]:
        return [
            f"{r['unique_id']}: {r['status']} {r.get('message') or ''}"
            for r in self.results()
            if r["status"] not in ("success", "pass")
        ]


def write_profiles(folder: Path) -> Path:
    """profiles.yml from profiles.example.yml, as the set-up writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (PROJECT_DIR / "profiles.example.yml").read_text()
    (folder / "profiles.yml").write_text(text.replace("__PROJECT_DIR__", str(PROJECT_DIR)))
    return folder


def generate(out: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the demo data generator CLI; raises on failure."""
    command = [sys.executable, "-m", "python_utils", "generate", "--out", str(out), "--quiet", *args]
    return subprocess.run(command, cwd=PROJECT_DIR, check=True, capture_output=True, text=True)


def run_dbt(
    command: list[str],
    raw_path: Path,
    work_dir: Path,
    dbt_vars: dict | None = None,
    target: str = "duckdb",
    extra_env: dict | None = None,
    project_dir: Path = PROJECT_DIR,
    timeout: float = 900,
) -> DbtRun:
    """Run dbt (from the project root) against a DuckDB file in work_dir or another target."""
    profiles = write_profiles(work_dir / "profiles")
    database = work_dir / "segments.duckdb"
    target_path = work_dir / "target"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(profiles),
        "SEGMENTS_RAW_PATH": str(raw_path),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "SEGMENTS_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SEGMENTS_TARGET": target,
        **(extra_env or {}),
    }
    args = [DBT, *command, "--target-path", str(target_path), "--log-path", str(work_dir / "logs")]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    for stale in ("run_results.json", "manifest.json"):
        (target_path / stale).unlink(missing_ok=True)
    try:
        proc = subprocess.run(
            args, cwd=project_dir, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"dbt {' '.join(command)} took more than {timeout} s") from exc
    # Read the artifacts now: a later invocation in the same folder replaces them.
    results_file = target_path / "run_results.json"
    manifest_file = target_path / "manifest.json"
    return DbtRun(
        proc.returncode,
        proc.stdout + proc.stderr,
        target_path,
        database,
        json.loads(results_file.read_text())["results"] if results_file.exists() else [],
        json.loads(manifest_file.read_text()) if manifest_file.exists() else {},
    )


def query(database: Path, sql: str) -> list[tuple]:
    """Rows of a read-only query on a built DuckDB file."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def scalar(database: Path, sql: str):
    return query(database, sql)[0][0]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakesnowServer:
    """A fakesnow HTTP server on loopback for the snowflake_local target, with hard timeouts:
    a failed query can leave the server answering errors while a client retries for minutes."""

    def __init__(self, log_path: Path, startup_timeout: float = 30.0):
        self.port = free_port()
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "FakesnowServer":
        import socket
        import time

        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "fakesnow"), "-s", "--host", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.log_path.parent,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fakesnow exited: {self.log_path.read_text()[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise TimeoutError(f"fakesnow did not listen on port {self.port} within "
                           f"{self.startup_timeout} s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def connect(self, database: str = "SEGMENTS", schema: str = "ANALYTICS"):
        import snowflake.connector

        return snowflake.connector.connect(
            user="fake", password="snow", account="fakesnow", host="127.0.0.1",
            port=self.port, protocol="http", database=database, schema=schema,
            network_timeout=120, login_timeout=10,
        )
