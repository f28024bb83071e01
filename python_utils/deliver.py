"""`python -m python_utils deliver`: POST the due messages of ``activation_outbox`` to a webhook.

One run, under the project's database lock (:func:`python_utils.jobs.database_lock`, the lock
that ``python -m python_utils run`` takes for dbt), does this:

1. finds ``activation_outbox`` by name in the DuckDB file (any schema);
2. reads the messages that are due (``due_at <= now``, UTC) and that the delivery log does not
   already show as delivered (or as dead-lettered, unless ``retry_dead_letters``), in the order
   ``(due_at, message_id)``;
3. POSTs each, one at a time, as JSON to the webhook with the header
   ``Idempotency-Key: <message_id>``; the body is the same on every attempt;
4. retries transient failures (5xx, 408, 429, timeouts, connection errors) with exponential
   backoff (``backoff_seconds * 2 ** (n - 1)``, at most ``backoff_max_seconds``; a
   ``Retry-After`` of 429/503 is honoured within the same cap) up to ``max_attempts``;
5. writes one row per attempt into ``delivery.activation_delivery_log`` (created if missing),
   committed before the next request, so a crash loses at most the outcome of the request in
   flight: that message is sent again by the next run with the same idempotency key.

Outcomes: 2xx = ``delivered``; 409 = ``delivered`` (the receiver already had that key); another
4xx (and 3xx: redirects are not followed) = ``dead_lettered`` at once, as the same request would
get the same answer; a transient failure = ``failed``, and ``dead_lettered`` when it was the
last attempt allowed. See docs/delivery.md.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from pathlib import Path

import duckdb

from python_utils.jobs import (
    EXIT_SKIPPED,
    PROJECT_DIR,
    append_run_log,
    database_lock,
    holder,
    job_paths,
)

OUTBOX_TABLE = "activation_outbox"
LOG_SCHEMA = "delivery"
LOG_TABLE = "activation_delivery_log"
#: the outbox columns sent in the body, in the data contract's order
OUTBOX_COLUMNS = (
    "message_id",
    "person_id",
    "journey_id",
    "step",
    "channel",
    "content_block_id",
    "due_at",
    "created_at",
)
DELIVERED, FAILED, DEAD_LETTERED = "delivered", "failed", "dead_lettered"
#: HTTP answers worth a retry: timeout, too many requests, and every 5xx
RETRY_STATUSES = frozenset({408, 429})
ALREADY_RECEIVED = 409
WEBHOOK_ENV = "SEGMENTS_WEBHOOK_URL"
DATABASE_ENV = "SEGMENTS_DUCKDB_PATH"
DEFAULT_DATABASE = "data/segments.duckdb"
#: exit codes: every message attempted was delivered / some were dead-lettered / the run could
#: not start (no outbox, no webhook) / another job held the database lock (EX_TEMPFAIL)
EXIT_OK, EXIT_DEAD_LETTERED, EXIT_ERROR = 0, 1, 2
USER_AGENT = "audience-segments-deliver/1"

LOG_DDL = f"""
create table if not exists {LOG_SCHEMA}.{LOG_TABLE} (
    message_id varchar not null,
    attempt integer not null,
    attempted_at timestamp not null,
    status varchar not null,
    http_status integer,
    error varchar,
    latency_ms double,
    run_id varchar,
    primary key (message_id, attempt)
)"""


class DeliveryError(RuntimeError):
    """The run cannot start: no outbox table, a malformed outbox, no webhook URL."""


@dataclass(frozen=True)
class DeliveryConfig:
    """What one run delivers, where to, and how patiently."""

    database: Path
    webhook_url: str
    now: datetime | None = None
    timeout: float = 5.0
    max_attempts: int = 5
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    retry_dead_letters: bool = False
    limit: int | None = None
    max_seconds: float | None = None
    outbox_schema: str | None = None
    lock_wait: float = 3600.0
    progress_every: int = 100
    quiet: bool = False


@dataclass(frozen=True)
class Message:
    """One due outbox row and the number of attempts the log already holds for it."""

    message_id: str
    body: bytes
    due_at: datetime
    previous_attempts: int


@dataclass(frozen=True)
class Attempt:
    """The outcome of one POST: the HTTP status (None without an answer), the error text, the
    latency, whether a retry could help, and the server's Retry-After in seconds."""

    http_status: int | None
    error: str | None
    latency_ms: float
    retryable: bool
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        """2xx, or 409: the receiver already processed this idempotency key."""
        status = self.http_status
        return status is not None and (200 <= status < 300 or status == ALREADY_RECEIVED)


@dataclass
class DeliverySummary:
    """What a run did, for the summary line and the exit code."""

    due: int = 0
    delivered: int = 0
    already_received: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    attempts: int = 0
    skipped_dead_letters: int = 0
    not_started: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every message attempted was delivered, else EXIT_DEAD_LETTERED."""
        return EXIT_DEAD_LETTERED if self.dead_lettered else EXIT_OK

    def format(self) -> str:
        """One summary line: counts, messages per second, p50/max latency of the attempts."""
        done = self.delivered + self.dead_lettered
        rate = done / self.seconds if self.seconds > 0 else 0.0
        p50 = statistics.median(self.latencies_ms) if self.latencies_ms else 0.0
        worst = max(self.latencies_ms, default=0.0)
        parts = [
            f"{self.due} due",
            f"{self.delivered} delivered"
            + (f" ({self.already_received} already received)" if self.already_received else ""),
            f"{self.failed_attempts} failed attempt(s)",
            f"{self.dead_lettered} dead-lettered",
        ]
        if self.not_started:
            parts.append(f"{self.not_started} left for the next run")
        if self.skipped_dead_letters:
            parts.append(
                f"{self.skipped_dead_letters} earlier dead letter(s) not retried "
                "(--retry-dead-letters)"
            )
        return (
            f"deliver: {', '.join(parts)}; {self.attempts} attempt(s) in "
            f"{self.seconds:.2f} s, {rate:.1f} messages/s, latency p50 {p50:.1f} ms, "
            f"max {worst:.1f} ms"
        )


# --- time and paths --------------------------------------------------------------------------


def utc_naive(moment: datetime) -> datetime:
    """A moment as a naive UTC timestamp (the project's ``*_at`` convention); a naive input is
    taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def parse_now(text: str) -> datetime:
    """``--now``: an ISO date or timestamp, UTC unless it carries an offset (``Z`` allowed)."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return utc_naive(datetime.fromisoformat(text))
    except ValueError as exc:
        raise ValueError(f"not an ISO timestamp (YYYY-MM-DDTHH:MM:SS[+HH:MM]): {text!r}") from exc


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def default_database(env: dict[str, str] | None = None) -> Path:
    """The DuckDB file dbt writes: SEGMENTS_DUCKDB_PATH (relative to the project folder, as for
    dbt and the job runner), else data/segments.duckdb."""
    text = (os.environ if env is None else env).get(DATABASE_ENV) or DEFAULT_DATABASE
    path = Path(text)
    return path if path.is_absolute() else PROJECT_DIR / path


# --- the database ----------------------------------------------------------------------------


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def find_outbox(
    connection: duckdb.DuckDBPyConnection, database: Path, schema: str | None = None
) -> str:
    """The quoted ``schema.activation_outbox`` of the file; DeliveryError naming the file and
    the table when it is missing, or when several schemas hold one and ``schema`` is unset."""
    rows = connection.execute(
        "select table_schema from information_schema.tables "
        "where table_name = ? and table_catalog = current_database() "
        "and (? is null or table_schema = ?) order by table_schema",
        [OUTBOX_TABLE, schema, schema],
    ).fetchall()
    where = f"schema {schema!r} of " if schema else ""
    if not rows:
        raise DeliveryError(
            f"no table or view {OUTBOX_TABLE} in {where}the DuckDB file {database}: build it "
            f"first (dbt build --select +{OUTBOX_TABLE}) or point --database / {DATABASE_ENV} "
            "at the built file"
        )
    if len(rows) > 1:
        schemas = ", ".join(row[0] for row in rows)
        raise DeliveryError(
            f"{OUTBOX_TABLE} is in several schemas of {database} ({schemas}): "
            "choose one with --outbox-schema"
        )
    relation = f"{_quote(rows[0][0])}.{_quote(OUTBOX_TABLE)}"
    _check_columns(connection, rows[0][0], relation, database)
    return relation


def _check_columns(
    connection: duckdb.DuckDBPyConnection, schema: str, relation: str, database: Path
) -> None:
    """DeliveryError when the outbox lacks a contract column."""
    present = {
        row[0].lower()
        for row in connection.execute(
            "select column_name from information_schema.columns "
            "where table_name = ? and table_schema = ? and table_catalog = current_database()",
            [OUTBOX_TABLE, schema],
        ).fetchall()
    }
    missing = [column for column in OUTBOX_COLUMNS if column not in present]
    if missing:
        raise DeliveryError(
            f"{relation} in {database} lacks the column(s) {', '.join(missing)} "
            "of the data contract"
        )


def ensure_log(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the ``delivery`` schema and the delivery log when missing."""
    connection.execute(f"create schema if not exists {LOG_SCHEMA}")
    connection.execute(LOG_DDL)


def _due_sql(outbox: str) -> str:
    columns = ", ".join(f"o.{column}" for column in OUTBOX_COLUMNS)
    return f"""
        with log_state as (
            select
                message_id,
                max(attempt) as last_attempt,
                bool_or(status = '{DELIVERED}') as is_delivered,
                arg_max(status, attempt) as last_status
            from {LOG_SCHEMA}.{LOG_TABLE}
            group by message_id
        )
        select {columns}, coalesce(l.last_attempt, 0) as previous_attempts,
            coalesce(l.last_status = '{DEAD_LETTERED}', false) as is_dead_lettered
        from {outbox} as o
        left join log_state as l on o.message_id = l.message_id
        where cast(o.due_at as timestamp) <= ?
            and not coalesce(l.is_delivered, false)
        order by o.due_at, o.message_id"""


def due_messages(
    connection: duckdb.DuckDBPyConnection, outbox: str, now: datetime, retry_dead_letters: bool
) -> tuple[list[Message], int]:
    """The due, undelivered messages in (due_at, message_id) order, and how many due earlier
    dead letters were left out (all of them are kept with ``retry_dead_letters``)."""
    cursor = connection.execute(_due_sql(outbox), [utc_naive(now)])
    names = [column[0] for column in cursor.description]
    messages: list[Message] = []
    skipped = 0
    seen: set[str] = set()
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        if row["message_id"] in seen:
            raise DeliveryError(
                f"message_id {row['message_id']!r} appears twice in {outbox}: "
                "the data contract makes it unique"
            )
        seen.add(row["message_id"])
        if row["is_dead_lettered"] and not retry_dead_letters:
            skipped += 1
            continue
        messages.append(
            Message(
                str(row["message_id"]), _body(row), row["due_at"], int(row["previous_attempts"])
            )
        )
    return messages, skipped


def _json_value(value: object) -> object:
    """JSON-ready: timestamps as ISO 8601 UTC with Z, dates as ISO, the rest unchanged."""
    if isinstance(value, datetime):
        return utc_naive(value).isoformat(timespec="microseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _body(row: dict) -> bytes:
    """The request body: the contract columns of the outbox row, keys sorted, compact."""
    payload = {column: _json_value(row[column]) for column in OUTBOX_COLUMNS}
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")


def record_attempt(
    connection: duckdb.DuckDBPyConnection,
    message_id: str,
    attempt: int,
    attempted_at: datetime,
    status: str,
    result: Attempt,
    run_id: str,
) -> None:
    """Insert (and commit: auto-commit) one log row."""
    connection.execute(
        f"insert into {LOG_SCHEMA}.{LOG_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            message_id,
            attempt,
            attempted_at,
            status,
            result.http_status,
            result.error,
            round(result.latency_ms, 3),
            run_id,
        ],
    )


# --- HTTP ------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers, not detours: a webhook that moved is a configuration error."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _retry_after(value: str | None) -> float | None:
    """Seconds of a Retry-After header (delay-seconds or HTTP-date), None when absent/garbled."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _answer(
    status: int, started: float, retry_after: str | None = None, reason: str | None = None
) -> Attempt:
    latency = (time.monotonic() - started) * 1000
    retryable = status >= 500 or status in RETRY_STATUSES
    ok = 200 <= status < 300 or status == ALREADY_RECEIVED
    error = None if ok else f"HTTP {status}" + (f" {reason}" if reason else "")
    return Attempt(
        status,
        error,
        latency,
        retryable and not ok,
        _retry_after(retry_after) if status in (429, 503) else None,
    )


def post(url: str, message: Message, attempt: int, timeout: float) -> Attempt:
    """POST one message; never raises for HTTP or network trouble, it describes it."""
    request = urllib.request.Request(
        url,
        data=message.body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": message.message_id,
            "X-Delivery-Attempt": str(attempt),
            "User-Agent": USER_AGENT,
        },
    )
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return _answer(response.status, started)
    except urllib.error.HTTPError as exc:
        with closing(exc):
            return _answer(exc.code, started, exc.headers.get("Retry-After"), exc.reason)
    except (OSError, HTTPException) as exc:  # URLError, timeouts and resets are OSErrors
        return Attempt(None, _network_error(exc), (time.monotonic() - started) * 1000, True)


def _network_error(exc: BaseException) -> str:
    """Short text of a failure without an HTTP answer (``timeout`` for a timeout)."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return "timeout"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return f"{type(exc).__name__}: {reason}"


def backoff(retry: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (1 = the second attempt):
    ``base * 2 ** (retry - 1)`` or the server's Retry-After, at most ``cap``."""
    delay = base * 2 ** (retry - 1) if retry_after is None else retry_after
    return min(cap, delay)


# --- one message, one run --------------------------------------------------------------------


Sender = Callable[[str, Message, int, float], Attempt]
Recorder = Callable[[str, int, str, Attempt], None]


def deliver_message(
    message: Message,
    config: DeliveryConfig,
    record: Recorder,
    send: Sender = post,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[tuple[int, str, Attempt]]:
    """Attempt one message up to ``max_attempts`` times in this run, recording each attempt
    before the next; yields (attempt number, status, attempt) for each. Attempt numbers continue
    the log's (a dead letter retried by a later run goes on from its last attempt)."""
    for retry in range(config.max_attempts):
        number = message.previous_attempts + retry + 1
        result = send(config.webhook_url, message, number, config.timeout)
        last = retry + 1 == config.max_attempts
        if result.delivered:
            status = DELIVERED
        elif result.retryable and not last:
            status = FAILED
        else:
            status = DEAD_LETTERED
        record(message.message_id, number, status, result)
        yield number, status, result
        if status != FAILED:
            return
        sleep(
            backoff(
                retry + 1, config.backoff_seconds, config.backoff_max_seconds, result.retry_after
            )
        )


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _say(config: DeliveryConfig, text: str) -> None:
    if not config.quiet:
        print(text, flush=True)


def _tally(summary: DeliverySummary, status: str, result: Attempt) -> None:
    summary.attempts += 1
    summary.latencies_ms.append(result.latency_ms)
    if status == DELIVERED:
        summary.delivered += 1
        summary.already_received += result.http_status == ALREADY_RECEIVED
    elif status == FAILED:
        summary.failed_attempts += 1
    else:
        summary.dead_lettered += 1
        summary.failed_attempts += 1


def _report_attempt(
    config: DeliveryConfig, message: Message, number: int, status: str, result: Attempt
) -> None:
    """One line for every attempt that did not deliver at once."""
    if status == DELIVERED and number == message.previous_attempts + 1:
        return
    outcome = {
        DELIVERED: "delivered",
        FAILED: "failed, will retry",
        DEAD_LETTERED: "dead-lettered",
    }[status]
    detail = f" ({result.error})" if result.error else ""
    _say(config, f"  {message.message_id} attempt {number}: {outcome}{detail}")


def send_all(
    messages: Sequence[Message],
    config: DeliveryConfig,
    record: Recorder,
    summary: DeliverySummary,
    send: Sender = post,
) -> None:
    """Deliver the messages in order, within ``max_seconds`` (new messages are not started
    after it), tallying into ``summary``."""
    started = time.monotonic()
    for index, message in enumerate(messages):
        if config.max_seconds is not None and time.monotonic() - started >= config.max_seconds:
            summary.not_started = len(messages) - index
            _say(
                config,
                f"deliver: --max-seconds {config.max_seconds:g} reached, "
                f"{summary.not_started} message(s) left for the next run",
            )
            break
        for number, status, result in deliver_message(message, config, record, send):
            _tally(summary, status, result)
            _report_attempt(config, message, number, status, result)
        done = index + 1
        if config.progress_every and done % config.progress_every == 0:
            _say(
                config,
                f"deliver: {done}/{len(messages)} messages, "
                f"{summary.delivered} delivered, {summary.dead_lettered} dead-lettered",
            )
    summary.seconds = time.monotonic() - started


def _connect(database: Path) -> duckdb.DuckDBPyConnection:
    if not database.exists():
        raise DeliveryError(
            f"no DuckDB file at {database}, so no table {OUTBOX_TABLE}: "
            "build the project first or set --database / "
            f"{DATABASE_ENV}"
        )
    connection = duckdb.connect(str(database))
    connection.execute("set TimeZone = 'UTC'")
    return connection


def deliver(config: DeliveryConfig, send: Sender = post) -> DeliverySummary:
    """One delivery run on an open database (the caller holds the database lock)."""
    now = utc_naive(config.now) if config.now is not None else _utc_now()
    run_id = f"{now.isoformat()}-{os.getpid()}-{time.time_ns()}"
    with closing(_connect(config.database)) as connection:
        outbox = find_outbox(connection, config.database, config.outbox_schema)
        ensure_log(connection)
        messages, skipped = due_messages(connection, outbox, now, config.retry_dead_letters)
        if config.limit is not None:
            messages = messages[: config.limit]
        summary = DeliverySummary(due=len(messages), skipped_dead_letters=skipped)
        _say(
            config,
            f"deliver: {len(messages)} due message(s) in {outbox} of "
            f"{config.database} (due_at <= {now.isoformat()} UTC) to "
            f"{config.webhook_url}",
        )

        def record(message_id: str, attempt: int, status: str, result: Attempt) -> None:
            record_attempt(connection, message_id, attempt, _utc_now(), status, result, run_id)

        send_all(messages, config, record, summary, send)
    _say(config, summary.format())
    return summary


def run(config: DeliveryConfig) -> int:
    """The ``deliver`` command: take the database lock (waiting up to ``lock_wait`` seconds),
    deliver, and return the exit code (0, EXIT_DEAD_LETTERED, EXIT_ERROR or EXIT_SKIPPED). The
    run is recorded in ``<database>.runs.jsonl`` like the dbt jobs."""
    if not config.webhook_url:
        print(
            f"deliver: error: no webhook URL: pass --webhook-url or set {WEBHOOK_ENV}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    paths = job_paths(env={DATABASE_ENV: str(config.database)})
    record = {
        "job": "deliver",
        "pid": os.getpid(),
        "lock": str(paths.lock),
        "wait_limit_seconds": config.lock_wait,
        "requested_at": _stamp(),
    }
    with database_lock(paths.lock, "deliver", config.lock_wait) as (handle, waited):
        record["waited_seconds"] = round(waited, 3)
        if handle is None:
            print(
                f"deliver: skipped, {holder(paths.lock)} held {paths.lock.name} for all of "
                f"{waited:.0f} s waited (exit {EXIT_SKIPPED})",
                file=sys.stderr,
                flush=True,
            )
            append_run_log(
                paths.run_log,
                {
                    **record,
                    "event": "skipped",
                    "ended_at": _stamp(),
                    "outcome": "skipped",
                    "exit_code": EXIT_SKIPPED,
                },
            )
            return EXIT_SKIPPED
        append_run_log(paths.run_log, {**record, "event": "started", "started_at": _stamp()})
        try:
            summary = deliver(config)
        except (DeliveryError, duckdb.Error) as exc:  # e.g. a dbt run outside the job runner
            print(f"deliver: error: {exc}", file=sys.stderr, flush=True)
            append_run_log(
                paths.run_log,
                {
                    **record,
                    "event": "finished",
                    "ended_at": _stamp(),
                    "outcome": "error",
                    "exit_code": EXIT_ERROR,
                    "error": str(exc),
                },
            )
            return EXIT_ERROR
        code = summary.exit_code
        append_run_log(
            paths.run_log,
            {
                **record,
                "event": "finished",
                "ended_at": _stamp(),
                "exit_code": code,
                "outcome": "succeeded" if code == EXIT_OK else "dead_lettered",
                "delivered": summary.delivered,
                "dead_lettered": summary.dead_lettered,
                "attempts": summary.attempts,
            },
        )
        return code
