"""Streaming demo (`make stream`): micro-batches of new events refresh the real-time segments.

1. Generates demo data (the generator's personas) and holds back its last ``hold_hours`` of
   events: they are the stream, the generator continuing in time after the history.
2. Runs the full `dbt build` on the history (the daily build).
3. Lands the held-back events in micro-batches of ``batch_minutes`` of event time, one new file
   per batch (``events/stream-00001.parquet``, ...), every ``interval`` seconds, and after each
   runs the real-time fast path, ``dbt build --selector realtime``.
4. After each run prints the event-to-segment latency (from the file landing to the refreshed
   segments), the entries and exits that run appended to ``segment_membership_changes``, and a
   cart abandonment whose add-to-cart landed in that very batch.
5. Then delivers the messages the journeys put in ``activation_outbox`` (due by the stream
   clock) to a local webhook on loopback with :func:`python_utils.deliver.deliver`, and prints
   the latency from the file landing to each message's delivery. Writes ``stream.json`` and a
   latency chart (``stream_latency.svg``) next to the data.

A cart add is judged abandoned once the stream clock (the latest accepted event) is
rule_cart_purchase_window_minutes past it without a purchase, so an add in the last minutes of a
batch can only enter the segment with the next batch; the summary counts both.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb

from python_utils.charts import line_chart
from python_utils.deliver import DeliveryConfig, deliver
from python_utils.generator import GeneratorConfig, generate

PROJECT_DIR = Path(__file__).resolve().parent.parent
STREAM_PREFIX = "stream-"
# 2,000 customers make small segments: the size gates warn (the same vars on every run keep
# dbt's partial parsing)
DEMO_VARS = '{"segment_test_severity": "warn"}'


def hold_back(
    raw: Path, held: Path, hold_hours: float | None = None, share: float | None = None
) -> tuple[int, str, str]:
    """Move the latest events out of ``raw``/events into the parquet file ``held``.

    Holds back the last ``hold_hours`` of event time, or the latest ``share`` of the events.
    Returns (events held back, first held-back moment, last event moment) as ISO text.
    """
    events_dir = raw / "events"
    files = sorted(events_dir.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no event files in {events_dir}")
    at = "try_cast(occurred_at as timestamp)"
    with duckdb.connect() as connection:
        glob = str(events_dir / "*.parquet")
        if share is not None:
            cut_sql = f"select quantile_disc({at}, {1 - float(share)}), max({at})"
        else:
            cut_sql = f"select max({at}) - interval '{float(hold_hours) * 3600} seconds', max({at})"
        cut, last = connection.execute(f"{cut_sql} from read_parquet('{glob}')").fetchall()[0]
        is_held = f"coalesce({at} >= '{cut}', false)"
        connection.execute(
            f"copy (select * from read_parquet('{glob}') where {is_held} "
            f"order by {at}, event_id) to '{held}' (format parquet)"
        )
        count = connection.execute(f"select count(*) from read_parquet('{held}')").fetchall()[0][0]
        for path in files:
            kept = path.with_suffix(".kept")
            connection.execute(
                f"copy (select * from read_parquet('{path}') where not {is_held}) "
                f"to '{kept}' (format parquet)"
            )
            kept.replace(path)
    return count, cut.isoformat(), last.isoformat()


def land(held: Path, target: Path, start: str | None = None, end: str | None = None) -> int:
    """Write the held-back events in [start, end) to ``target``, atomically; returns the count."""
    at = "try_cast(occurred_at as timestamp)"
    where = (
        " and ".join(
            [*([f"{at} >= '{start}'"] if start else []), *([f"{at} < '{end}'"] if end else [])]
        )
        or "true"
    )
    partial = target.with_suffix(".part")
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * from read_parquet('{held}') where {where}) "
            f"to '{partial}' (format parquet)"
        )
        count = connection.execute(f"select count(*) from read_parquet('{partial}')").fetchall()[0][
            0
        ]
    partial.replace(target)  # the file lands whole
    return count


class _Webhook:
    """A local webhook on loopback that records when each idempotency key first arrived."""

    def __init__(self) -> None:
        received: dict[str, float] = {}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                key = self.headers.get("Idempotency-Key") or ""
                with lock:
                    seen = key in received
                    received.setdefault(key, time.time())
                self.send_response(409 if seen else 200)
                self.end_headers()

            def log_message(self, *args) -> None:  # quiet
                return

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _deliver(database: Path, webhook: _Webhook, landed_at: float | None) -> dict:
    """Deliver what is due by the stream clock; the latency of each message the webhook first
    received in this round, from landed_at (wall clock), and the journeys it came from."""
    with duckdb.connect(str(database), read_only=True) as connection:
        clock = connection.execute(
            "select max(evaluated_at) from main.customer_realtime_segments"
        ).fetchall()[0][0]
        outbox = {
            row[0]: (row[1], row[2])
            for row in connection.execute(
                "select message_id, journey_id, step from main.activation_outbox"
            ).fetchall()
        }
    before = set(webhook.received)
    summary = deliver(
        DeliveryConfig(
            database=database, webhook_url=webhook.url, now=clock, backoff_seconds=0.05, quiet=True
        )
    )
    new = {key: at for key, at in webhook.received.items() if key not in before}
    journeys: dict[str, int] = {}
    for key in new:
        journey, step = outbox.get(key, ("?", 0))
        journeys[f"{journey} step {step}"] = journeys.get(f"{journey} step {step}", 0) + 1
    latencies = sorted(round(at - landed_at, 2) for at in new.values()) if landed_at else []
    return {
        "messages_delivered": len(new),
        "dead_lettered": summary.dead_lettered,
        "delivered_by_journey": dict(sorted(journeys.items())),
        "landed_to_delivered_seconds": latencies,
    }


def _dbt(args: list[str], work: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Run dbt; (wall seconds, return code, output tail)."""
    dbt = str(Path(sys.executable).parent / "dbt")
    started = time.perf_counter()
    proc = subprocess.run(
        [dbt, *args, "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, proc.returncode, (proc.stdout + proc.stderr)[-3000:]


def _changes(database: Path, batch_file: str) -> dict:
    """What the latest run appended to segment_membership_changes, and its cart abandonments."""
    with duckdb.connect(str(database), read_only=True) as connection:
        change_number = connection.execute(
            "select max(change_number) from main.segment_membership_changes"
        ).fetchall()[0][0]
        counts = connection.execute(
            "select segment_family, segment_name, change_type, count(*) "
            "from main.segment_membership_changes where change_number = ? "
            "group by all order by 1, 2, 3",
            [change_number],
        ).fetchall()
        abandoners = connection.execute(
            """
            select
                changes.person_id,
                changes.changed_at,
                realtime.open_abandoned_cart_value,
                realtime.last_abandoned_at,
                bool_or(adds._source_file like ?) as added_in_batch,
                min(adds.product_id) as product_id
            from main.segment_membership_changes as changes
            inner join main.customer_realtime_segments as realtime
                on changes.person_id = realtime.person_id
            inner join main.int_realtime_events as adds
                on
                    changes.person_id = adds.person_id
                    and adds.event_type = 'add_to_cart'
                    and adds.occurred_at = realtime.last_abandoned_at
            where
                changes.change_number = ?
                and changes.segment_family = 'realtime'
                and changes.segment_name = 'cart_abandoner'
                and changes.change_type = 'entered'
            group by all
            order by added_in_batch desc, changes.person_id
            """,
            [f"%{batch_file}", change_number],
        ).fetchall()
        clock = connection.execute(
            "select max(evaluated_at) from main.customer_realtime_segments"
        ).fetchall()[0][0]
    return {
        "change_number": change_number,
        "stream_clock": clock.isoformat() if clock else None,
        "changes": [
            {"family": f, "segment": s, "change": c, "persons": n} for f, s, c, n in counts
        ],
        "cart_abandoners_entered": len(abandoners),
        "cart_abandoners_from_this_batch": sum(1 for a in abandoners if a[4]),
        "example": None
        if not abandoners
        else {
            "person_id": abandoners[0][0],
            "changed_at": abandoners[0][1].isoformat(),
            "open_cart_value": float(abandoners[0][2]),
            "added_to_cart_at": abandoners[0][3].isoformat(),
            "added_in_this_batch": bool(abandoners[0][4]),
            "product_id": abandoners[0][5],
        },
    }


def run(
    customers: int,
    days: int,
    seed: int,
    hold_hours: float,
    batch_minutes: float,
    interval: float,
    max_batches: int | None,
    out: str,
) -> int:
    work = Path(out).resolve()
    raw, database = work / "raw", work / "segments.duckdb"
    shutil.rmtree(raw, ignore_errors=True)
    database.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SEGMENTS_RAW_PATH": str(raw),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "SEGMENTS_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_PROFILES_DIR": os.environ.get("DBT_PROFILES_DIR", str(PROJECT_DIR)),
    }

    print(f"[1/3] generating {customers:,} customers over {days} days ...", flush=True)
    generate(
        GeneratorConfig(
            customers=customers,
            days=days,
            seed=seed,
            out=raw,
            truth_out=work / "ground_truth",
            quiet=True,
        )
    )
    held = work / "held_back_events.parquet"
    n_held, cut, last = hold_back(raw, held, hold_hours=hold_hours)
    print(f"      held back {n_held:,} events from {cut} to {last}: the stream", flush=True)

    print("[2/3] daily build on the history: dbt build ...", flush=True)
    seconds, code, tail = _dbt(["build", "--vars", DEMO_VARS], work, env)
    if code:
        print(tail, file=sys.stderr)
        print(f"error: the daily build failed; see {work / 'logs'}", file=sys.stderr)
        return 1
    print(f"      done in {seconds:.0f} s", flush=True)
    webhook = _Webhook()
    daily = _deliver(database, webhook, None)
    print(
        f"      delivered {daily['messages_delivered']} journey messages of the daily build "
        f"to the local webhook {webhook.url}",
        flush=True,
    )

    print(
        f"[3/3] streaming: a batch of {batch_minutes:g} minutes of events every "
        f"{interval:g} s, then `dbt build --selector realtime`",
        flush=True,
    )
    batches = []
    step = f"interval '{float(batch_minutes) * 60} seconds'"
    with duckdb.connect() as connection:
        bounds = connection.execute(
            f"select cast('{cut}' as timestamp) + n * {step}, "
            f"cast('{cut}' as timestamp) + (n + 1) * {step} "
            f"from range(cast(ceil(? * 60 / ?) as bigint)) as t(n)",
            [hold_hours, batch_minutes],
        ).fetchall()
    if max_batches:
        bounds = bounds[:max_batches]
    for number, (start, end) in enumerate(bounds, start=1):
        started = time.perf_counter()
        name = f"{STREAM_PREFIX}{number:05d}.parquet"
        n_events = land(held, raw / "events" / name, start, None if number == len(bounds) else end)
        landed = time.perf_counter()
        landed_wall = time.time()
        seconds, code, tail = _dbt(
            ["build", "--selector", "realtime", "--vars", DEMO_VARS], work, env
        )
        if code:
            print(tail, file=sys.stderr)
            print(f"error: the real-time build failed after {name}", file=sys.stderr)
            return 1
        latency = time.perf_counter() - landed
        result = _changes(database, name)
        result.update(_deliver(database, webhook, landed_wall))
        batches.append(
            {
                "batch": number,
                "file": name,
                "events": n_events,
                "event_time_from": start.isoformat(),
                "event_time_to": end.isoformat(),
                "latency_seconds": round(latency, 2),
                "dbt_seconds": round(seconds, 2),
                **result,
            }
        )
        _print_batch(batches[-1])
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))

    webhook.close()
    summary = _summary(batches)
    print(summary["text"], flush=True)
    report = {
        "customers": customers,
        "days": days,
        "seed": seed,
        "hold_hours": hold_hours,
        "batch_minutes": batch_minutes,
        "batches": batches,
        **{k: v for k, v in summary.items() if k != "text"},
    }
    (work / "stream.json").write_text(json.dumps(report, indent=2))
    chart = line_chart(
        {
            "file landed -> segments refreshed": [
                (b["batch"], b["latency_seconds"]) for b in batches
            ],
            "dbt build --selector realtime": [(b["batch"], b["dbt_seconds"]) for b in batches],
            "file landed -> last message delivered": [
                (b["batch"], b["landed_to_delivered_seconds"][-1])
                for b in batches
                if b["landed_to_delivered_seconds"]
            ],
        },
        title="Event-to-segment and event-to-message latency per micro-batch",
        x_label="micro-batch",
        y_label="seconds",
    )
    (work / "stream_latency.svg").write_text(chart)
    print(f"report: {work / 'stream.json'}, chart: {work / 'stream_latency.svg'}")
    return 0 if summary["cart_abandoners_from_their_batch"] > 0 else 1


def _print_batch(batch: dict) -> None:
    print(
        f"  batch {batch['batch']}: {batch['events']:,} events "
        f"({batch['event_time_from'][11:16]}-{batch['event_time_to'][11:16]}), "
        f"segments refreshed {batch['latency_seconds']:.1f} s after landing "
        f"(dbt {batch['dbt_seconds']:.1f} s), stream clock {batch['stream_clock']}, "
        f"change #{batch['change_number']}",
        flush=True,
    )
    moves = [c for c in batch["changes"] if c["family"] == "realtime"]
    others = sum(c["persons"] for c in batch["changes"] if c["family"] != "realtime")
    for change in moves:
        print(f"      {change['change']:<7} {change['segment']:<28} {change['persons']:>5} persons")
    if others:
        print(f"      (and {others} changes in the daily families)")
    if batch["messages_delivered"]:
        latencies = batch["landed_to_delivered_seconds"]
        journeys = ", ".join(f"{n} {j}" for j, n in batch["delivered_by_journey"].items())
        print(
            f"      delivered {batch['messages_delivered']} messages ({journeys}) "
            f"{latencies[0]:.1f}-{latencies[-1]:.1f} s after the file landed",
            flush=True,
        )
    example = batch["example"]
    if example:
        where = "in this batch" if example["added_in_this_batch"] else "in an earlier batch"
        print(
            f"      e.g. person {example['person_id'][:12]}... added {example['product_id']} to "
            f"the cart at {example['added_to_cart_at'][11:19]} ({where}), no purchase since: "
            f"entered cart_abandoner (open cart value {example['open_cart_value']:.2f})",
            flush=True,
        )


def _summary(batches: list[dict]) -> dict:
    latencies = [b["latency_seconds"] for b in batches]
    entered = sum(b["cart_abandoners_entered"] for b in batches)
    delivered = [x for b in batches for x in b["landed_to_delivered_seconds"]]
    same = sum(b["cart_abandoners_from_this_batch"] for b in batches)
    text = (
        f"\n{len(batches)} micro-batches, {sum(b['events'] for b in batches):,} events: "
        f"event-to-segment latency median {statistics.median(latencies):.1f} s, "
        f"max {max(latencies):.1f} s.\n"
        f"{entered} persons entered cart_abandoner; for {same} of them the abandoned add "
        f"landed in the batch right before the run that caught it (the others' adds came "
        f"within the purchase window of a batch's end, so the next batch's clock judged them)."
    )
    if delivered:
        text += (
            f"\n{len(delivered)} journey messages delivered to the local webhook: file "
            f"landed -> message delivered median {statistics.median(delivered):.1f} s, "
            f"max {max(delivered):.1f} s."
        )
    return {
        "latency_median_seconds": statistics.median(latencies),
        "messages_delivered": len(delivered),
        "delivery_latency_median_seconds": statistics.median(delivered) if delivered else None,
        "delivery_latency_max_seconds": max(delivered) if delivered else None,
        "latency_max_seconds": max(latencies),
        "cart_abandoners_entered": entered,
        "cart_abandoners_from_their_batch": same,
        "text": text,
    }
