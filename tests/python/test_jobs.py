"""The job runner (`python -m python_utils run daily|incremental|realtime`) and builds that die.

Runs that overlap: the runner serialises jobs on one DuckDB file with a file lock. The tests
use real processes: a daily build under the runner with a fast path started during it (the fast
path waits, skips with exit code 75 and one line, and the run log says so), and a lock held by a
separate `python -c` process through the same module, as a daily build (a fast path waits and
then runs dbt, or skips when its wait is shorter) or as a fast path (the daily build waits, then
runs).

Runs that die: the data of test_incremental lands in batches. One side builds it uninterrupted
under the runner: the daily build on batch 1, the incremental run after batch 2, the daily build
after batch 3. The other side starts from a copy of the first daily build and SIGKILLs the
runner's process group while a given model runs (the event triage's delete+insert, the
sessionized events, the sessions after the sessionized events were committed; the clustering
Python model, the membership change log), re-runs the same job after each kill, and must end
with every model equal, row for row, to the uninterrupted side: after the incremental run and
after the daily build. Data tests and unit tests are left out of these builds: they write
nothing, and their cost is not what is measured here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from dbt_harness import PROJECT_DIR, write_profiles
from python_utils import jobs
from test_incremental import VARS, VOLATILE_COLUMNS, land, stage_batches

JOB_ARGS = [
    "--exclude-resource-type",
    "test",
    "--exclude-resource-type",
    "unit_test",
    "--vars",
    json.dumps(VARS),
]


def job_env(work: Path, raw: Path | None = None, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(write_profiles(work / "profiles")),
        "SEGMENTS_RAW_PATH": str(raw or work / "raw"),
        "SEGMENTS_DUCKDB_PATH": str(work / "segments.duckdb"),
        "SEGMENTS_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SEGMENTS_TARGET": "duckdb",
        "PYTHONUNBUFFERED": "1",
        "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "none"),  # see dbt_harness
        **extra,
    }


def runner_command(job: str, work: Path, *runner_args: str, dbt_args: tuple = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "python_utils",
        "run",
        job,
        *runner_args,
        "--",
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        *dbt_args,
    ]


def run_job(
    job: str,
    work: Path,
    raw: Path,
    *runner_args: str,
    dbt_args: tuple = tuple(JOB_ARGS),
    on_start: dict[str, Callable[[subprocess.Popen], None]] | None = None,
    timeout: float = 600,
) -> tuple[int, str]:
    """Run a job under the runner as its own process group, streaming its output; when a model
    in ``on_start`` starts, call its action with the process (e.g. SIGKILL the group).
    Returns (exit code, output)."""
    process = subprocess.Popen(
        runner_command(job, work, *runner_args, dbt_args=dbt_args),
        cwd=PROJECT_DIR,
        env=job_env(work, raw),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    lines = []
    pending = dict(on_start or {})
    for line in process.stdout:
        lines.append(line)
        for model in list(pending):
            if re.search(rf"\bSTART .*\.{model} ", line):
                pending.pop(model)(process)
        if time.monotonic() > deadline:
            kill_group(process)
    code = process.wait()
    return code, "".join(lines)


def kill_group(process: subprocess.Popen, delay: float = 0.0) -> None:
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)


def killer(delay: float = 0.0) -> Callable[[subprocess.Popen], None]:
    return lambda process: kill_group(process, delay)


def run_log(work: Path) -> list[dict]:
    path = work / "segments.duckdb.runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def copy_database(source: Path, target: Path) -> None:
    """The DuckDB file (and WAL), and dbt's parse cache so the next run need not parse again."""
    (target / "target").mkdir(parents=True, exist_ok=True)
    for name in ("segments.duckdb", "segments.duckdb.wal", "target/partial_parse.msgpack"):
        if (source / name).exists():
            shutil.copy(source / name, target / name)


HOLDER = """
import sys, time
from pathlib import Path
from python_utils.jobs import database_lock
with database_lock(Path(sys.argv[1]), sys.argv[2], 5) as (handle, waited):
    print("locked", flush=True)
    time.sleep(float(sys.argv[3]))
"""


def hold_lock(work: Path, job: str, seconds: float) -> subprocess.Popen:
    """A separate process that takes the database lock as ``job`` and holds it ``seconds``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(work / "segments.duckdb.lock"), job, str(seconds)],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "locked"
    return process


# ---------------------------------------------------------------------------------------------
# The runner alone


def test_lock_and_log_sit_beside_the_database_named_by_the_environment(tmp_path):
    paths = jobs.job_paths(env={"SEGMENTS_DUCKDB_PATH": str(tmp_path / "x.duckdb")})
    assert paths.lock == tmp_path / "x.duckdb.lock"
    assert paths.run_log == tmp_path / "x.duckdb.runs.jsonl"
    relative = jobs.job_paths(env={}, project_dir=tmp_path)
    assert relative.lock == tmp_path / "data" / "segments.duckdb.lock"
    other = jobs.job_paths(["--target", "snowflake"], env={}, project_dir=tmp_path)
    assert other.lock == tmp_path / "logs" / "snowflake.lock"
    assert jobs.wait_limit("realtime", {}) == 30 and jobs.wait_limit("daily", {}) == 3600
    assert jobs.wait_limit("incremental", {"SEGMENTS_FAST_WAIT_SECONDS": "2.5"}) == 2.5
    assert jobs.wait_limit("daily", {"SEGMENTS_DAILY_WAIT_SECONDS": "7"}) == 7


def test_a_fast_path_skips_when_a_build_holds_the_database_past_its_wait(tmp_path):
    holder = hold_lock(tmp_path, "daily", 30)
    try:
        started = time.monotonic()
        proc = subprocess.run(
            runner_command("realtime", tmp_path),
            cwd=PROJECT_DIR,
            env=job_env(tmp_path, SEGMENTS_FAST_WAIT_SECONDS="1.5"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == jobs.EXIT_SKIPPED == 75
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith("segments run realtime: skipped, daily (pid ")
    assert 1.5 <= elapsed < 15
    [entry] = run_log(tmp_path)
    assert entry["event"] == "skipped" and entry["outcome"] == "skipped"
    assert entry["job"] == "realtime" and entry["exit_code"] == 75
    assert entry["dbt_exit_code"] is None and entry["waited_seconds"] >= 1.5


def test_dbt_exit_code_and_arguments_pass_through(tmp_path):
    proc = subprocess.run(
        runner_command("daily", tmp_path, dbt_args=("--no-such-option",)),
        cwd=PROJECT_DIR,
        env=job_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr  # click's usage error, from dbt itself
    assert "no-such-option" in proc.stderr
    started, finished = run_log(tmp_path)
    assert started["event"] == "started" and started["dbt_args"][-1] == "--no-such-option"
    assert finished["event"] == "finished" and finished["outcome"] == "failed"
    assert finished["exit_code"] == finished["dbt_exit_code"] == 2


# ---------------------------------------------------------------------------------------------
# Real builds: overlapping runs and runs that die


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict:
    """The uninterrupted side and the killed side, compared after each phase."""
    root = tmp_path_factory.mktemp("jobs")
    raw, schedule, _ = stage_batches(root)
    reference, killed = root / "reference", root / "killed"
    outputs: dict[str, str] = {}
    timings: dict[str, float] = {}

    def timed(name: str, job: str, work: Path, **kwargs) -> tuple[int, str]:
        started = time.monotonic()
        code, output = run_job(job, work, raw, **kwargs)
        timings[name] = round(time.monotonic() - started, 1)
        outputs[name] = output
        return code, output

    land(raw, root / "batches", schedule[0])
    code, output = timed("reference daily 1", "daily", reference)
    assert code == 0, output[-4000:]
    copy_database(reference, killed)

    # Phase 1: the incremental run after batch 2, killed three times, then run whole.
    land(raw, root / "batches", schedule[1])
    code, output = timed("reference incremental", "incremental", reference)
    assert code == 0, output[-4000:]
    kills = {}
    for model, delay in (
        ("base_app__events_triaged", 0.3),
        ("int_events_sessionized", 0.0),
        ("int_sessions_built", 0.0),
    ):
        kills[model] = timed(
            f"killed incremental at {model}", "incremental", killed, on_start={model: killer(delay)}
        )
    code, output = timed("killed incremental re-run", "incremental", killed)
    assert code == 0, output[-4000:]
    incremental = {
        "kills": kills,
        "models": models_of(reference),
        "reference": reference,
        "killed": killed,
    }
    incremental["different"] = different_models(incremental["models"], reference, killed)

    # Phase 2: the daily build after batch 3; a fast path started during it skips.
    land(raw, root / "batches", schedule[2])
    collision = {}

    def start_fast_path(_process: subprocess.Popen) -> None:
        started = time.monotonic()
        collision["proc"] = subprocess.run(
            runner_command("realtime", reference, "--wait", "2"),
            cwd=PROJECT_DIR,
            env=job_env(reference, raw),
            capture_output=True,
            text=True,
            timeout=120,
        )
        collision["seconds"] = time.monotonic() - started

    code, output = timed(
        "reference daily 2", "daily", reference, on_start={"customer_features": start_fast_path}
    )
    assert code == 0, output[-4000:]
    daily_kills = {}
    for model, delay in (("segment_model_runs", 2.0), ("segment_membership_changes", 0.0)):
        daily_kills[model] = timed(
            f"killed daily at {model}", "daily", killed, on_start={model: killer(delay)}
        )
    code, output = timed("killed daily re-run", "daily", killed)
    assert code == 0, output[-4000:]
    models = models_of(reference)
    print("\n" + "\n".join(f"  {name}: {seconds} s" for name, seconds in timings.items()))
    return {
        "raw": raw,
        "reference": reference,
        "killed": killed,
        "outputs": outputs,
        "incremental": incremental,
        "kills": kills,
        "daily_kills": daily_kills,
        "collision": collision,
        "models": models,
        "different": different_models(models, reference, killed),
    }


def models_of(work: Path) -> list[str]:
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == "segments"
        and node["config"]["materialized"] != "ephemeral"
    )


def different_models(models: list[str], left: Path, right: Path) -> list[str]:
    """The models whose rows differ between two databases: EXCEPT ALL over every column but the
    volatile ones of test_incremental (fit times), both ways, in one connection."""
    different = []
    with duckdb.connect(str(left / "segments.duckdb"), read_only=True) as connection:
        connection.execute(f"attach '{right / 'segments.duckdb'}' as other (read_only)")
        for model in models:
            columns = [
                c
                for (c,) in connection.execute(
                    "select column_name from information_schema.columns where table_catalog = "
                    "current_database() and table_name = ? order by ordinal_position",
                    [model],
                ).fetchall()
                if c not in VOLATILE_COLUMNS
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            left_rows, right_rows = (
                f"select {listed} from {side}.main.{model}" for side in ("main_db", "other")
            )
            left_rows = left_rows.replace("main_db.", "")
            only = connection.execute(
                f"select (select count(*) from ({left_rows} except all {right_rows})), "
                f"(select count(*) from ({right_rows} except all {left_rows}))"
            ).fetchone()
            if only != (0, 0):
                different.append(model)
    return different


def test_no_run_under_the_runner_shows_a_traceback(builds):
    for name, output in builds["outputs"].items():
        assert "Traceback" not in output and "Could not set lock" not in output, name


def test_a_fast_path_started_during_the_daily_build_waits_and_skips(builds):
    proc = builds["collision"]["proc"]
    assert proc.returncode == 75, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("segments run realtime: skipped, daily (pid ")
    assert 2 <= builds["collision"]["seconds"] < 30
    log = run_log(builds["reference"])
    skipped = [e for e in log if e["event"] == "skipped"]
    assert [(e["job"], e["exit_code"]) for e in skipped] == [("realtime", 75)]
    daily = [e for e in log if e["job"] == "daily" and e["event"] == "finished"]
    assert [e["dbt_exit_code"] for e in daily] == [0, 0]
    # the skip came while the daily build ran
    assert daily[1]["started_at"] < skipped[0]["ended_at"] < daily[1]["ended_at"]


def test_every_kill_happened_and_left_a_started_run_without_an_end(builds):
    for model, (code, output) in {**builds["kills"], **builds["daily_kills"]}.items():
        assert code == -signal.SIGKILL, (model, output[-2000:])
        assert re.search(rf"START .*\.{model} ", output), model
    events = [(e["job"], e["event"]) for e in run_log(builds["killed"])]
    assert events == [("incremental", "started")] * 3 + [
        ("incremental", "started"),
        ("incremental", "finished"),
    ] + [("daily", "started")] * 2 + [("daily", "started"), ("daily", "finished")]


def test_an_incremental_run_killed_and_rerun_equals_an_uninterrupted_one(builds):
    incremental = builds["incremental"]
    assert len(incremental["models"]) > 60
    assert incremental["different"] == []


def test_a_daily_build_killed_and_rerun_equals_an_uninterrupted_one(builds):
    assert len(builds["models"]) > 60
    assert builds["different"] == []


@pytest.fixture()
def built_copy(builds, tmp_path) -> Path:
    copy_database(builds["reference"], tmp_path)
    return tmp_path


def test_a_fast_path_waits_for_a_build_then_runs(builds, built_copy):
    holder = hold_lock(built_copy, "daily", 4)
    code, output = run_job("realtime", built_copy, builds["raw"], "--wait", "60")
    holder.wait()
    assert code == 0, output[-4000:]
    assert "Traceback" not in output
    assert "segments run realtime: waited" in output
    [started, finished] = run_log(built_copy)
    assert started["waited_seconds"] >= 3
    assert finished["outcome"] == "succeeded" and finished["dbt_exit_code"] == 0
    # a successful job publishes the dashboard's read copy before it lets the lock go
    from python_utils.publish import current_copy

    database = Path(finished["lock"][: -len(".lock")])
    assert finished["published_copy"] == str(current_copy(database))
    manifest = json.loads((current_copy(database) / "manifest.json").read_text())
    assert manifest["job"] == "realtime" and manifest["missing"] == []


def test_the_daily_build_waits_for_a_fast_path_then_runs(builds, built_copy):
    holder = hold_lock(built_copy, "realtime", 4)
    code, output = run_job(
        "daily",
        built_copy,
        builds["raw"],
        dbt_args=(*JOB_ARGS, "--select", "stg_observation_window"),
    )
    holder.wait()
    assert code == 0, output[-4000:]
    assert "Completed successfully" in output
    assert re.search(r"OK created .*\.stg_observation_window ", output), output[-4000:]
    [started, finished] = run_log(built_copy)
    assert started["waited_seconds"] >= 3 and started["wait_limit_seconds"] == 3600
    assert finished["job"] == "daily" and finished["exit_code"] == 0
