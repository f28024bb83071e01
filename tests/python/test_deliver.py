"""`python -m python_utils deliver` against real HTTP receivers on loopback (no mocks).

Each test builds a DuckDB file whose `activation_outbox` (the input the dbt project builds) holds
a few messages, starts a threaded `http.server` on port 0 that answers by a script and records
every request, runs the command, and checks what the receiver saw and what
`delivery.activation_delivery_log` holds. The receiver is idempotent the way the command expects
a webhook to be: a key it has already processed gets 409. Backoff is a few milliseconds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from python_utils.__main__ import main
from python_utils.deliver import EXIT_DEAD_LETTERED, EXIT_ERROR, LOG_SCHEMA, LOG_TABLE
from python_utils.jobs import EXIT_SKIPPED, PROJECT_DIR, database_lock, job_paths

NOW = "2026-06-15T00:00:00Z"
#: (message_id, due_at): due in the order m-b, m-a, m-c (m-a and m-c tie on due_at); m-future
#: is not due at NOW
MESSAGES = (
    ("m-a", "2026-06-01 10:00:00"),
    ("m-b", "2026-06-01 09:00:00"),
    ("m-c", "2026-06-01 10:00:00"),
    ("m-future", "2026-07-01 00:00:00"),
)
DUE_ORDER = ["m-b", "m-a", "m-c"]
FAST = (
    "--backoff-seconds",
    "0.01",
    "--backoff-max-seconds",
    "0.05",
    "--timeout",
    "2",
    "--progress-every",
    "0",
)

# a script: (idempotency key, how many requests with that key so far, this one included)
# -> (HTTP status, seconds to sleep before answering)
Script = Callable[[str, int], tuple[int, float]]


class Receiver(ThreadingHTTPServer):
    """A webhook on loopback: answers by ``script``, records every request, and processes each
    idempotency key once (a key already processed is answered 409, as a real receiver would)."""

    daemon_threads = True

    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.processed: Counter[str] = Counter()
        self.answered = 0
        self.on_processed: Callable[[str], None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def wait_until_all_answered(self, seconds: float = 10.0) -> None:
        """Until every request received has been answered (a late answer included)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if self.answered == len(self.requests):
                    return
            time.sleep(0.05)
        raise AssertionError("the receiver is still answering")

    def keys(self) -> list[str]:
        return [request["key"] for request in self.requests]

    def handle_error(self, request, client_address) -> None:
        """A client that timed out and left: nothing to report."""


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        try:
            self._answer()
        finally:
            with self.server.lock:
                self.server.answered += 1

    def _answer(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Idempotency-Key")
        with self.server.lock:
            self.server.requests.append(
                {
                    "key": key,
                    "body": body,
                    "attempt": self.headers.get("X-Delivery-Attempt"),
                    "content_type": self.headers.get("Content-Type"),
                }
            )
            seen = sum(1 for request in self.server.requests if request["key"] == key)
        status, delay = self.server.script(key, seen)
        time.sleep(delay)
        if 200 <= status < 300:
            with self.server.lock:
                if self.server.processed[key]:
                    status = 409
                else:
                    self.server.processed[key] += 1
            if status != 409 and self.server.on_processed is not None:
                self.server.on_processed(key)
        payload = json.dumps({"status": status}).encode()
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def receiver() -> Iterator[Callable[[Script], Receiver]]:
    """Start receivers with a script; all are shut down after the test."""
    started: list[Receiver] = []

    def start(script: Script) -> Receiver:
        server = Receiver(script)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def ok(_key: str, _seen: int) -> tuple[int, float]:
    return 200, 0.0


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A DuckDB file with marts.activation_outbox holding MESSAGES."""
    path = tmp_path / "segments.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts")
        connection.execute("""
            create table marts.activation_outbox (
                message_id varchar, person_id varchar, journey_id varchar, step integer,
                channel varchar, content_block_id varchar, due_at timestamp,
                created_at timestamp)""")
        for index, (message_id, due_at) in enumerate(MESSAGES):
            connection.execute(
                "insert into marts.activation_outbox values (?, ?, 'welcome', ?, 'email', "
                "'cb-welcome', ?, timestamp '2026-05-31 12:00:00')",
                [message_id, f"p{index}", index + 1, due_at],
            )
    return path


def deliver(database: Path, url: str, *args: str) -> int:
    """Run the command in this process; returns its exit code."""
    return main(
        ["deliver", "--database", str(database), "--webhook-url", url, "--now", NOW, *FAST, *args]
    )


def log_rows(database: Path) -> list[tuple]:
    """(message_id, attempt, status, http_status, error) of every logged attempt."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(
            f"select message_id, attempt, status, http_status, error "
            f"from {LOG_SCHEMA}.{LOG_TABLE} order by attempted_at, message_id, attempt"
        ).fetchall()


def attempts_of(database: Path, message_id: str) -> list[tuple]:
    return [row[1:4] for row in log_rows(database) if row[0] == message_id]


def test_each_due_message_is_posted_once_in_order_with_its_idempotency_key(
    database, receiver, capsys
):
    server = receiver(ok)
    assert deliver(database, server.url) == 0
    assert server.keys() == DUE_ORDER  # (due_at, message_id); m-future is not due
    for request in server.requests:
        assert request["key"] == request["body"]["message_id"]
        assert request["attempt"] == "1"
        assert request["content_type"] == "application/json"
    first = next(r["body"] for r in server.requests if r["key"] == "m-b")
    assert first == {
        "message_id": "m-b",
        "person_id": "p1",
        "journey_id": "welcome",
        "step": 2,
        "channel": "email",
        "content_block_id": "cb-welcome",
        "due_at": "2026-06-01T09:00:00.000000Z",
        "created_at": "2026-05-31T12:00:00.000000Z",
    }
    assert sorted(log_rows(database)) == [
        (key, 1, "delivered", 200, None) for key in sorted(DUE_ORDER)
    ]
    summary = capsys.readouterr().out
    assert "3 due, 3 delivered, 0 failed attempt(s), 0 dead-lettered" in summary
    assert "messages/s" in summary and "p50" in summary

    assert deliver(database, server.url) == 0  # a second run sends nothing
    assert server.keys() == DUE_ORDER
    assert len(log_rows(database)) == 3

    assert deliver(database, server.url, "--now", "2026-07-01T00:00:00+00:00") == 0
    assert server.keys() == [*DUE_ORDER, "m-future"]  # due now, and only it
    assert server.processed == Counter({key: 1 for key in [*DUE_ORDER, "m-future"]})


def test_a_server_failing_twice_then_succeeding_delivers_at_the_third_attempt(database, receiver):
    server = receiver(lambda key, seen: (500, 0.0) if key == "m-a" and seen <= 2 else (200, 0.0))
    assert deliver(database, server.url) == 0
    assert attempts_of(database, "m-a") == [
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "delivered", 200),
    ]
    assert [r["attempt"] for r in server.requests if r["key"] == "m-a"] == ["1", "2", "3"]
    assert server.keys() == ["m-b", "m-a", "m-a", "m-a", "m-c"]  # retried before moving on
    assert all(attempts_of(database, key) == [(1, "delivered", 200)] for key in ("m-b", "m-c"))


def test_a_server_that_always_fails_dead_letters_after_max_attempts(database, receiver, capsys):
    server = receiver(lambda key, seen: (503, 0.0))
    assert deliver(database, server.url, "--max-attempts", "3") == EXIT_DEAD_LETTERED
    for key in DUE_ORDER:
        assert attempts_of(database, key) == [
            (1, "failed", 503),
            (2, "failed", 503),
            (3, "dead_lettered", 503),
        ]
    assert "3 dead-lettered" in capsys.readouterr().out

    assert deliver(database, server.url) == 0  # dead letters stay put
    assert len(server.requests) == 9
    assert "3 earlier dead letter(s) not retried" in capsys.readouterr().out

    healthy = receiver(ok)
    assert deliver(database, healthy.url, "--retry-dead-letters") == 0
    assert healthy.keys() == DUE_ORDER
    assert attempts_of(database, "m-a")[-1] == (4, "delivered", 200)  # numbering goes on
    assert deliver(database, healthy.url, "--retry-dead-letters") == 0  # delivered: never again
    assert healthy.keys() == DUE_ORDER


def test_a_client_error_dead_letters_at_once_and_the_others_go_on(database, receiver):
    server = receiver(lambda key, seen: (422, 0.0) if key == "m-a" else (200, 0.0))
    assert deliver(database, server.url) == EXIT_DEAD_LETTERED
    assert attempts_of(database, "m-a") == [(1, "dead_lettered", 422)]
    assert server.keys() == DUE_ORDER
    assert [row[4] for row in log_rows(database) if row[0] == "m-a"] == [
        "HTTP 422 Unprocessable Entity"
    ]


def test_too_many_requests_and_timeouts_are_retried(database, receiver):
    # m-b: 429 (Retry-After: 0), then fine; m-a: the first answer comes after the timeout
    def script(key: str, seen: int) -> tuple[int, float]:
        if seen == 1 and key == "m-b":
            return 429, 0.0
        if seen == 1 and key == "m-a":
            return 200, 1.0
        return 200, 0.0

    server = receiver(script)
    assert deliver(database, server.url, "--timeout", "0.3") == 0
    assert attempts_of(database, "m-b") == [(1, "failed", 429), (2, "delivered", 200)]
    assert attempts_of(database, "m-a") == [(1, "failed", None), (2, "delivered", 200)]
    assert [row[4] for row in log_rows(database) if row[0] == "m-a"] == ["timeout", None]
    server.wait_until_all_answered()  # the late first request of m-a: its key was done (409)
    assert server.processed == Counter({key: 1 for key in DUE_ORDER})


def test_connection_errors_are_retried_then_dead_lettered(database):
    with socket.socket() as probe:  # a loopback port that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = deliver(database, f"http://127.0.0.1:{port}/hook", "--max-attempts", "2")
    assert code == EXIT_DEAD_LETTERED
    rows = [row for row in log_rows(database) if row[0] == "m-b"]
    assert [row[1:4] for row in rows] == [(1, "failed", None), (2, "dead_lettered", None)]
    assert "ConnectionRefusedError" in rows[0][4]


def test_a_crash_between_the_post_and_the_log_write_sends_again_and_is_processed_once(
    database, receiver
):
    """The sender is killed (SIGKILL) after the receiver processed m-a but before the answer
    reached it, so m-a has no log row; the rerun posts m-a again with the same key, the receiver
    answers 409, and the sender logs it delivered. m-b's record survived the crash."""
    server = receiver(ok)
    sender: dict[str, subprocess.Popen] = {}

    def crash_after(key: str) -> None:
        if key == "m-a":
            os.kill(sender["process"].pid, signal.SIGKILL)
            sender["process"].wait(timeout=10)

    server.on_processed = crash_after
    sender["process"] = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "python_utils",
            "deliver",
            "--database",
            str(database),
            "--webhook-url",
            server.url,
            "--now",
            NOW,
            *FAST,
        ],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    sender["process"].communicate(timeout=60)
    assert sender["process"].returncode == -signal.SIGKILL
    assert log_rows(database) == [("m-b", 1, "delivered", 200, None)]

    assert deliver(database, server.url) == 0
    assert server.keys() == ["m-b", "m-a", "m-a", "m-c"]  # m-a posted twice, same key
    assert server.processed == Counter({key: 1 for key in DUE_ORDER})  # processed once
    assert attempts_of(database, "m-a") == [(1, "delivered", 409)]


def test_a_missing_outbox_is_an_error_naming_the_file_and_the_table(tmp_path, receiver, capsys):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    server = receiver(ok)
    assert deliver(empty, server.url) == EXIT_ERROR
    error = capsys.readouterr().err
    assert "activation_outbox" in error and str(empty) in error
    assert deliver(tmp_path / "absent.duckdb", server.url) == EXIT_ERROR
    assert "absent.duckdb" in capsys.readouterr().err
    assert main(["deliver", "--database", str(empty), "--webhook-url", ""]) == EXIT_ERROR
    assert server.requests == []


def test_it_waits_for_the_database_lock_and_skips_when_a_job_holds_it(database, receiver):
    server = receiver(ok)
    lock = job_paths(env={"SEGMENTS_DUCKDB_PATH": str(database)}).lock
    assert lock == database.with_name("segments.duckdb.lock")
    with database_lock(lock, "daily", 1.0) as (handle, _):
        assert handle is not None
        assert deliver(database, server.url, "--wait", "0.3") == EXIT_SKIPPED
    assert server.requests == []
    runs = [
        json.loads(line)
        for line in database.with_name("segments.duckdb.runs.jsonl").read_text().splitlines()
    ]
    assert [(r["job"], r["event"]) for r in runs] == [("deliver", "skipped")]
    assert deliver(database, server.url) == 0
    assert server.keys() == DUE_ORDER


def test_now_is_utc_unless_it_has_an_offset():
    from python_utils.deliver import parse_now

    assert parse_now("2026-06-15T02:00:00+02:00") == datetime(2026, 6, 15)
    assert parse_now("2026-06-15T00:00:00Z") == datetime(2026, 6, 15)
    assert parse_now("2026-06-15") == datetime(2026, 6, 15)
    with pytest.raises(ValueError):
        parse_now("next tuesday")


def test_a_database_written_by_another_process_is_an_error_not_a_traceback(
    database, receiver, capsys
):
    """A writer that did not take the lock (a dbt build outside the job runner) holds the file."""
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        server = receiver(ok)
        assert deliver(database, server.url) == EXIT_ERROR
        assert "lock" in capsys.readouterr().err.lower()
        assert server.requests == []
    finally:
        writer.kill()
        writer.wait()
