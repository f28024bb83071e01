"""Helpers that run the real project (generator CLI, dbt) in isolated folders for the tests."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DBT = str(VENV_BIN / "dbt")
#: dbt arguments that leave the unit tests out of a build (they check logic on fixed inputs: the
#: session build of conftest.py runs them), and the data tests too (a build only to compare)
NO_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]
NO_TESTS = [*NO_UNIT_TESTS, "--exclude-resource-type", "test"]


#: Warn tests that fire on the demo data by design: the generator plants the problems they report
#: (a recommendation experiment with 2% of its persons in both variants, a broken 60/40 split).
#: A green build may show them as warnings, never as failures; test_experiments_e2e.py asserts
#: that they do warn.
PLANTED_WARNINGS = frozenset(
    {"experiment_multiple_exposure_below_warning", "experiment_sample_ratio_matches_design"}
)


def is_planted_warning(result: dict) -> bool:
    """A run result that is one of PLANTED_WARNINGS at status warn."""
    name = result["unique_id"].split(".")[2] if result["unique_id"].count(".") >= 2 else ""
    return result["status"] == "warn" and name in PLANTED_WARNINGS


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
            if r["status"] not in ("success", "pass", "no-op")  # no-op: an exposure
            and not is_planted_warning(r)
        ]


def write_profiles(folder: Path) -> Path:
    """profiles.yml from profiles.example.yml, as the set-up writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (PROJECT_DIR / "profiles.example.yml").read_text()
    (folder / "profiles.yml").write_text(text.replace("__PROJECT_DIR__", str(PROJECT_DIR)))
    return folder


# dbt's partial parse (target/partial_parse.msgpack) saves the full parse of the project, ~6-10 s
# of CPU, on every invocation that finds a valid one. dbt accepts one only if the vars, the
# profile's connection values (the DuckDB path included) and dbt_project.yml are unchanged, and
# re-reads every changed project file itself. So each test's fresh work folder gets the last
# parse saved by a run with the same project, target, vars and environment, and the DuckDB path
# is the same relative name in every folder (dbt runs in the work folder, on the project named by
# DBT_PROJECT_DIR): the parse of one test serves the next. dbt's own check still decides, and a
# mismatch parses in full.
PARTIAL_PARSE = "partial_parse.msgpack"
_parse_cache: Path | None = None


def _parse_cache_file(key: dict) -> Path:
    global _parse_cache
    if _parse_cache is None:
        _parse_cache = Path(tempfile.mkdtemp(prefix="dbt-parse-cache-"))
        atexit.register(shutil.rmtree, _parse_cache, ignore_errors=True)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    return _parse_cache / f"{digest[:24]}.msgpack"


def generate(out: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the demo data generator CLI; raises on failure."""
    command = [
        sys.executable,
        "-m",
        "python_utils",
        "generate",
        "--out",
        str(out),
        "--quiet",
        *args,
    ]
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
    """Run dbt (in work_dir, on the project in project_dir) against the DuckDB file
    work_dir/segments.duckdb or another target."""
    profiles = write_profiles(work_dir / "profiles")
    database = work_dir / "segments.duckdb"
    target_path = work_dir / "target"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(profiles),
        "SEGMENTS_RAW_PATH": str(raw_path),
        # relative to the work folder, where dbt runs: the same profile in every folder
        "SEGMENTS_DUCKDB_PATH": database.name,
        "SEGMENTS_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SEGMENTS_TARGET": target,
        # no debug log file (every SQL statement, ~7% of a build's CPU); stdout keeps the info
        # log the tests read. DBT_LOG_LEVEL_FILE=debug in the environment brings it back.
        "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "none"),
        **(extra_env or {}),
        "DBT_PROJECT_DIR": str(project_dir),
    }
    args = [DBT, *command, "--target-path", str(target_path), "--log-path", str(work_dir / "logs")]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    for stale in ("run_results.json", "manifest.json"):
        (target_path / stale).unlink(missing_ok=True)
    parse_file = target_path / PARTIAL_PARSE
    cached_parse = _parse_cache_file(
        {
            "project": str(project_dir),
            "target": target,
            "vars": dbt_vars or {},
            "env": extra_env or {},
        }
    )
    if not parse_file.exists() and cached_parse.exists():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copy(cached_parse, parse_file)
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(
            args, cwd=work_dir, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"dbt {' '.join(command)} took more than {timeout} s") from exc
    if parse_file.exists():
        partial = cached_parse.with_suffix(f".{os.getpid()}.tmp")
        shutil.copy(parse_file, partial)
        os.replace(partial, cached_parse)
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

    def __enter__(self) -> FakesnowServer:
        import socket
        import time

        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "fakesnow"), "-s", "--host", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.log_path.parent,
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
        raise TimeoutError(
            f"fakesnow did not listen on port {self.port} within {self.startup_timeout} s"
        )

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
            user="fake",
            password="snow",
            account="fakesnow",
            host="127.0.0.1",
            port=self.port,
            protocol="http",
            database=database,
            schema=schema,
            network_timeout=120,
            login_timeout=10,
        )
