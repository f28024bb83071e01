"""One way to run the project's jobs: ``python -m python_utils run daily|incremental|realtime``.

DuckDB lets one process write a database file at a time, so the daily build, the incremental
run and the real-time fast path must not overlap. The runner serialises them with an OS file
lock (``fcntl.flock``) on ``<database>.lock`` next to the DuckDB file (SEGMENTS_DUCKDB_PATH;
for another target, ``logs/<target>.lock`` in the project) and then runs dbt with the job's
arguments plus any extra dbt arguments, streaming dbt's output:

- a **fast path** (``realtime``, ``incremental``) that finds another job holding the lock waits
  up to ``--wait`` seconds (env SEGMENTS_FAST_WAIT_SECONDS, default 30) and then skips with one
  line on stderr and exit code 75 (``EXIT_SKIPPED``, EX_TEMPFAIL: try again later; the next
  scheduled run catches up, since every job is incremental on what landed);
- the **daily** build waits for a running job up to ``--wait`` seconds (env
  SEGMENTS_DAILY_WAIT_SECONDS, default 3600) and skips the same way only after that;
- otherwise the runner exits with dbt's exit code.

The lock is passed on to dbt (an inherited descriptor), so it is held while either process
lives, and the kernel releases it when both are gone, however they end (a SIGKILL included):
there is no stale lock to clean up. Every invocation appends JSON lines to
``<database>.runs.jsonl``: ``started`` when the lock is taken, and one final line, ``finished``
(dbt ran; ``dbt_exit_code``) or ``skipped`` (waited too long), with the job, times, seconds
waited, outcome and exit code. A ``started`` line without a final one is a run that was killed.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

PROJECT_DIR = Path(__file__).resolve().parent.parent

#: dbt arguments of each job (the Makefile targets build, incremental and realtime)
JOBS: dict[str, tuple[str, ...]] = {
    "daily": ("build",),
    "incremental": ("build", "--selector", "incremental"),
    "realtime": ("build", "--selector", "realtime"),
}
FAST_JOBS = frozenset({"incremental", "realtime"})
#: exit code of a run skipped because another job held the database too long (EX_TEMPFAIL)
EXIT_SKIPPED = 75
#: default seconds to wait for the lock, and the environment variables that change them
DEFAULT_WAIT_SECONDS = {"fast": 30.0, "daily": 3600.0}
WAIT_ENV = {"fast": "SEGMENTS_FAST_WAIT_SECONDS", "daily": "SEGMENTS_DAILY_WAIT_SECONDS"}
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class JobPaths:
    """Where a database's lock and run log live, and the DuckDB file (None for another
    target), whose marts a successful job publishes for the dashboard (python_utils.publish)."""

    lock: Path
    run_log: Path
    database: Path | None = None


def _target(dbt_args: Sequence[str], env: dict[str, str]) -> str:
    """The profile target a dbt invocation uses: ``--target``/``-t`` in its arguments, else
    SEGMENTS_TARGET (the profile's default), else duckdb."""
    for i, arg in enumerate(dbt_args):
        if arg in ("--target", "-t") and i + 1 < len(dbt_args):
            return dbt_args[i + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return env.get("SEGMENTS_TARGET") or "duckdb"


def job_paths(
    dbt_args: Sequence[str] = (), env: dict[str, str] | None = None, project_dir: Path = PROJECT_DIR
) -> JobPaths:
    """The lock and run log of the database the jobs write: ``<db>.lock`` and
    ``<db>.runs.jsonl`` beside the DuckDB file (SEGMENTS_DUCKDB_PATH, relative paths taken
    from the project folder, where dbt runs), or ``logs/<target>.lock`` for another target."""
    env = dict(os.environ if env is None else env)
    target = _target(dbt_args, env)
    database = None
    if target == "duckdb":
        database = Path(env.get("SEGMENTS_DUCKDB_PATH") or "data/segments.duckdb")
        base = database = database if database.is_absolute() else project_dir / database
    else:
        base = project_dir / "logs" / target
    return JobPaths(
        base.with_name(base.name + ".lock"), base.with_name(base.name + ".runs.jsonl"), database
    )


def wait_limit(job: str, env: dict[str, str] | None = None) -> float:
    """Seconds a job waits for the lock: the env variable of its kind, else the default."""
    kind = "fast" if job in FAST_JOBS else "daily"
    text = (os.environ if env is None else env).get(WAIT_ENV[kind])
    return float(text) if text else DEFAULT_WAIT_SECONDS[kind]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def holder(lock: Path) -> str:
    """Who holds (or last held) a lock, as its holder wrote it: ``job (pid N, since T)``."""
    try:
        info = json.loads(lock.read_text() or "{}")
    except (OSError, ValueError):
        return "another job"
    if not info:
        return "another job"
    return f"{info.get('job', '?')} (pid {info.get('pid', '?')}, since {info.get('since', '?')})"


@contextmanager
def database_lock(lock: Path, job: str, timeout: float) -> Iterator[tuple[IO[str] | None, float]]:
    """Hold the exclusive lock on ``lock`` for the block: yields (the open lock file, seconds
    waited), or (None, seconds waited) when another process held it for ``timeout`` seconds.
    The holder's job, pid and start are written into the file for the ones waiting."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(lock, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() - started >= timeout:
                yield None, time.monotonic() - started
                return
            time.sleep(POLL_SECONDS)
        waited = time.monotonic() - started
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {"job": job, "pid": os.getpid(), "since": _now(), "host": socket.gethostname()}
            )
        )
        handle.flush()
        try:
            yield handle, waited
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def append_run_log(run_log: Path, record: dict) -> None:
    """Append one JSON line to the run log (one write, so concurrent lines do not interleave)."""
    run_log.parent.mkdir(parents=True, exist_ok=True)
    with open(run_log, "a") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def _run_dbt(command: list[str], lock_fd: int, project_dir: Path) -> int:
    """Run dbt with inherited stdout/stderr (its progress streams through) and the lock
    descriptor. SIGTERM to the runner is passed on to dbt; SIGINT (Ctrl-C) reaches dbt from the
    terminal, so the runner ignores it and returns dbt's exit code when dbt stops."""
    child = subprocess.Popen(command, cwd=project_dir, pass_fds=(lock_fd,))

    def forward(signum: int, _frame) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
    }
    try:
        return child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_job(
    job: str,
    dbt_args: Sequence[str] = (),
    wait: float | None = None,
    dbt: str | None = None,
    project_dir: Path = PROJECT_DIR,
) -> int:
    """Run one job under the database lock; returns dbt's exit code, or EXIT_SKIPPED when
    another job held the lock longer than ``wait`` seconds (default: ``wait_limit(job)``)."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}: one of {', '.join(JOBS)}")
    extra = list(dbt_args)
    paths = job_paths(extra, project_dir=project_dir)
    limit = wait_limit(job) if wait is None else wait
    command = [dbt or str(Path(sys.executable).parent / "dbt"), *JOBS[job], *extra]
    record = {
        "job": job,
        "pid": os.getpid(),
        "dbt_args": extra,
        "lock": str(paths.lock),
        "wait_limit_seconds": limit,
        "requested_at": _now(),
    }
    with database_lock(paths.lock, job, limit) as (handle, waited):
        record["waited_seconds"] = round(waited, 3)
        if handle is None:
            print(
                f"segments run {job}: skipped, {holder(paths.lock)} held {paths.lock.name} "
                f"for all of {waited:.0f} s waited (exit {EXIT_SKIPPED})",
                file=sys.stderr,
                flush=True,
            )
            append_run_log(
                paths.run_log,
                {
                    **record,
                    "event": "skipped",
                    "ended_at": _now(),
                    "outcome": "skipped",
                    "exit_code": EXIT_SKIPPED,
                    "dbt_exit_code": None,
                },
            )
            return EXIT_SKIPPED
        if waited >= 1:
            print(
                f"segments run {job}: waited {waited:.1f} s for the database lock",
                file=sys.stderr,
                flush=True,
            )
        record["started_at"] = _now()
        append_run_log(paths.run_log, {**record, "event": "started"})
        code = _run_dbt(command, handle.fileno(), project_dir)
        if code == 0 and paths.database is not None and paths.database.exists():
            # still under the lock: no other job writes while the read copy is taken
            from python_utils.publish import publish

            record["published_copy"] = str(publish(paths.database, job))
        append_run_log(
            paths.run_log,
            {
                **record,
                "event": "finished",
                "ended_at": _now(),
                "outcome": "succeeded" if code == 0 else "failed",
                "exit_code": code,
                "dbt_exit_code": code,
            },
        )
        return code
