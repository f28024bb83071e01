"""Command-line entry point: ``python -m python_utils <command> ...``.

Commands
--------
generate
    Write synthetic demo data (see :mod:`python_utils.generator`).
report
    Summarise a built DuckDB database (see :mod:`python_utils.report`).
load-snowflake
    Load a raw folder into Snowflake raw tables (see :mod:`python_utils.warehouse`).
check-snowflake-sql
    Strict Snowflake dialect check of compiled SQL (see :mod:`python_utils.snowflake_dialect`).
bench-clusters
    Clustering time and peak memory at several population sizes
    (see :mod:`python_utils.bench_clusters`).
bench
    Full dbt build at several data sizes against a hand-written DuckDB baseline
    (see :mod:`python_utils.bench_pipeline`).
stream
    Streaming demo: micro-batches of new events refresh the real-time segments
    (see :mod:`python_utils.stream`).
run
    Run a job (daily, incremental, realtime) under the database lock, one job at a time
    (see :mod:`python_utils.jobs`).
evaluate-clusters
    Adjusted Rand index of every clustering algorithm against the planted personas
    (see :mod:`python_utils.evaluate_clusters`).
evaluate-identity
    How a built database resolves the generator's planted CRM duplicates and near-misses
    (see :mod:`python_utils.identity_eval`).
export-audiences
    One CSV per destination and audience from a built DuckDB database, idempotently
    (see :mod:`python_utils.audience_export`).
shapes
    One full dbt build per data shape (complete, orders only, events only, ...) and a table
    of what built, passed and failed (see :mod:`python_utils.shapes`).
deliver
    POST the due messages of ``activation_outbox`` to a webhook with retries, under the database
    lock, logging every attempt in ``delivery.activation_delivery_log``
    (see :mod:`python_utils.deliver`, docs/delivery.md).

New commands are added by writing a ``_add_<name>_parser`` function that
registers a sub-parser and sets ``func`` to a handler returning an exit code, and
lists the function in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from python_utils.generator import COUNTRIES, SHAPES, GeneratorConfig, format_summary, generate


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 0.5:
        raise argparse.ArgumentTypeError("must be in [0, 0.5)")
    return value


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from exc


def _cmd_generate(args: argparse.Namespace) -> int:
    cfg = GeneratorConfig(
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        out=Path(args.out),
        truth_out=Path(args.truth_out) if args.truth_out else None,
        end_date=args.end_date,
        dirty_rate=args.dirty_rate,
        fmt=args.format,
        anonymous_visitors=args.anonymous_visitors,
        events_per_customer=args.events_per_customer,
        events_per_file=args.events_per_file,
        chunk_customers=args.chunk_customers,
        quiet=args.quiet,
        shape=args.shape,
        country=args.country,
        lapsed_days=args.lapsed_days,
        crm_duplicate_rate=args.crm_duplicate_rate,
        near_misses=not args.no_near_misses,
        internal_accounts=not args.no_internal_accounts,
        outliers=not args.no_outliers,
        drift_from=args.drift_from,
    )
    try:
        cfg.validate()
    except ValueError as exc:
        print(f"python -m python_utils generate: error: {exc}", file=sys.stderr)
        return 2
    result = generate(cfg)
    print(format_summary(result))
    return 0


def _add_generate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="write synthetic demo data (Parquet/CSV) plus ground truth",
        description=(
            "Write demo data for an e-commerce/content site, one folder per table under --out "
            "(<out>/<table>/part-00000.parquet), and ground truth (personas, identity links, "
            "dirty rows, planted CRM duplicates and near-misses, internal accounts, outliers, "
            "generation.json) under --truth-out."
        ),
    )
    p.add_argument(
        "--customers",
        type=_positive_int,
        default=10_000,
        help="number of registered customers (default: %(default)s)",
    )
    p.add_argument(
        "--days",
        type=_positive_int,
        default=180,
        help="length of the event window in days (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=7,
        help="random seed; same arguments and seed give identical files (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        default="data/raw",
        help="output folder, one sub-folder per table (default: %(default)s)",
    )
    p.add_argument(
        "--truth-out",
        default=None,
        help="ground-truth folder (default: sibling of --out named ground_truth)",
    )
    p.add_argument(
        "--end-date",
        type=_iso_date,
        default=date(2026, 6, 30),
        help="last day of the window, inclusive (default: %(default)s)",
    )
    p.add_argument(
        "--dirty-rate",
        type=_rate,
        default=0.0,
        help="fraction of rows per table with one injected defect (default: %(default)s)",
    )
    p.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="output file format (default: %(default)s)",
    )
    p.add_argument(
        "--anonymous-visitors",
        type=_non_negative_int,
        default=None,
        help="anonymous-only visitors (default: customers * 0.5)",
    )
    p.add_argument(
        "--events-per-customer",
        type=_positive_float,
        default=None,
        help="scaling knob: target events per customer (total events ~ customers * X); default: natural rates",
    )
    p.add_argument(
        "--events-per-file",
        type=_positive_int,
        default=2_000_000,
        help="rows per events part file (default: %(default)s)",
    )
    p.add_argument(
        "--chunk-customers",
        type=_positive_int,
        default=10_000,
        help="customers simulated per chunk: memory knob, part of the determinism key (default: %(default)s)",
    )
    p.add_argument(
        "--shape",
        choices=tuple(SHAPES),
        default="complete",
        help="which tables to write, the others are left out: complete (all), orders_only, "
        "order_items_no_events (orders, order_items, products), events_only, crm_only "
        "(customers and their consents); see docs/data-shapes.md (default: %(default)s)",
    )
    p.add_argument(
        "--country",
        choices=COUNTRIES,
        default=None,
        help="every customer and visitor in this one country (default: the usual mix)",
    )
    p.add_argument(
        "--lapsed-days",
        type=_non_negative_int,
        default=0,
        help="append this many quiet days to the --days of normal activity (the window still "
        "ends on --end-date): in them only ~3%% of the customers leave rows, so most "
        "customers have lapsed by the last day (default: %(default)s = none)",
    )
    p.add_argument(
        "--crm-duplicate-rate",
        type=_rate,
        default=0.03,
        help="share of customers with a second CRM record of the same person (new id G + the "
        "digits; e-mail case, Gmail dots, +tag, googlemail, phone format or only weak "
        "evidence), truth in crm_duplicates.parquet; 0 = none (default: %(default)s)",
    )
    p.add_argument(
        "--no-near-misses",
        action="store_true",
        help="do not edit customers into look-alikes that must not merge (families at one "
        "address, office switchboards, role and reserved-domain addresses)",
    )
    p.add_argument(
        "--no-internal-accounts",
        action="store_true",
        help="no staff accounts at demoshop.internal and no TEST- orders",
    )
    p.add_argument(
        "--no-outliers",
        action="store_true",
        help="no planted extreme values (order totals, quantities, prices, revenue, engaged time)",
    )
    p.add_argument(
        "--drift-from",
        type=_iso_date,
        default=None,
        help="shift behaviour from this day on (more night-time visits, more products viewed per "
        "visit), with the shifted features in ground_truth/drift.parquet (default: none)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_generate)


#: sub-command registrars; append new ones here
def _cmd_report(args: argparse.Namespace) -> int:
    from python_utils.report import summarize

    try:
        print(summarize(Path(args.database), Path(args.truth)))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _add_report_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="summarise a built DuckDB database (where the results are, row accounting)",
    )
    p.add_argument(
        "--database",
        default="data/segments.duckdb",
        help="the DuckDB file dbt built (default: data/segments.duckdb)",
    )
    p.add_argument(
        "--truth",
        default="data/ground_truth",
        help="the generator's ground truth: with it, the planted CRM duplicates and outliers "
        "are scored (default: data/ground_truth; skipped when absent)",
    )
    p.set_defaults(func=_cmd_report)


def _cmd_check_snowflake_sql(args: argparse.Namespace) -> int:
    from python_utils.snowflake_dialect import check_manifest

    problems = check_manifest(Path(args.manifest))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} Snowflake dialect problem(s) in {args.manifest}")
    return 1 if problems else 0


def _add_check_snowflake_sql_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-snowflake-sql",
        help="check the compiled SQL of a dbt manifest against a strict Snowflake grammar",
        description=(
            "Compile first for a Snowflake target with the emulator shims off, e.g. "
            "dbt compile --target snowflake_local --vars '{fakesnow_shims: false}'."
        ),
    )
    p.add_argument("--manifest", default="target/manifest.json", help="compiled manifest.json")
    p.set_defaults(func=_cmd_check_snowflake_sql)


def _cmd_load_snowflake(args: argparse.Namespace) -> int:
    from python_utils.warehouse import load_raw_folder, snowflake_connection

    with snowflake_connection(local=args.local) as connection:
        cursor = connection.cursor()
        database = connection.database
        if args.local:
            cursor.execute(f"create database if not exists {database}")
        loaded = load_raw_folder(
            Path(args.raw),
            cursor.execute,
            cursor.executemany,
            f"{database}.{args.schema}",
            progress=lambda table, rows: print(f"  {table:<24}{rows:>12,} rows", flush=True),
        )
    print(f"loaded {len(loaded)} table(s) into {database}.{args.schema}")
    return 0


def _add_load_snowflake_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "load-snowflake",
        help="load a raw folder (e.g. the demo data) into Snowflake raw tables",
        description=(
            "Creates one string-typed table per contract table in <database>.<schema> and "
            "inserts the rows of every Parquet/CSV file. Credentials: the SNOWFLAKE_* variables "
            "of profiles.yml, or --local for the fakesnow server on FAKESNOW_PORT."
        ),
    )
    p.add_argument("--raw", default="data/raw", help="raw folder (default: data/raw)")
    p.add_argument("--schema", default="RAW", help="raw schema (dbt var raw_schema)")
    p.add_argument("--local", action="store_true", help="the local fakesnow server")
    p.set_defaults(func=_cmd_load_snowflake)


def _cmd_bench_clusters(args: argparse.Namespace) -> int:
    from python_utils.bench_clusters import run

    if not Path(args.database).exists():
        print(f"error: {args.database} does not exist: run `make demo` first", file=sys.stderr)
        return 1
    return run(args.database, args.sizes, args.out)


def _add_bench_clusters_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench-clusters",
        help="time the default clustering at several population sizes (report, JSON, chart)",
    )
    p.add_argument(
        "--database",
        default="data/segments.duckdb",
        help="a built DuckDB file whose customer_features is resampled",
    )
    p.add_argument(
        "--sizes",
        type=_positive_int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="population sizes (default: 100000 1000000)",
    )
    p.add_argument("--out", default="bench", help="folder for bench_clusters.json/.svg")
    p.set_defaults(func=_cmd_bench_clusters)


def _cmd_bench(args: argparse.Namespace) -> int:
    from python_utils.bench_pipeline import run

    return run(args.events, args.out, args.seed)


def _add_bench_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="full dbt build at several data sizes vs a hand-written baseline (table, JSON, chart)",
    )
    p.add_argument(
        "--events",
        type=_positive_int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="approximate event counts (default: 1000000 10000000)",
    )
    p.add_argument("--out", default="bench", help="work folder and report location")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_bench)


def _cmd_drift_check(args: argparse.Namespace) -> int:
    from python_utils.drift_check import run

    return run(args.out, args.customers, args.days, args.seed, args.builds, args.drift_days)


def _add_drift_check_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drift-check",
        help="daily builds with and without the generator's drift option: false alarms and "
        "detected drift (report and JSON)",
    )
    p.add_argument("--customers", type=_positive_int, default=1500)
    p.add_argument(
        "--days",
        type=_positive_int,
        default=180,
        help="days of history, the demo's window (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--builds",
        type=_positive_int,
        default=10,
        help="daily builds without drift (default: %(default)s)",
    )
    p.add_argument(
        "--drift-days",
        type=_positive_int,
        default=7,
        help="days of drifted behaviour before the drift build (default: %(default)s)",
    )
    p.add_argument("--out", default="bench/drift_check", help="work folder and report")
    p.set_defaults(func=_cmd_drift_check)


def _cmd_evaluate_clusters(args: argparse.Namespace) -> int:
    from python_utils.evaluate_clusters import evaluate

    for path in (args.database, args.truth):
        if not Path(path).exists():
            print(f"error: {path} does not exist: run `make demo` first", file=sys.stderr)
            return 1
    return evaluate(args.database, args.truth, args.algorithms, args.out)


def _add_evaluate_clusters_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate-clusters",
        help="ARI of each clustering algorithm against the generator's planted personas",
    )
    p.add_argument("--database", default="data/segments.duckdb", help="a built DuckDB file")
    p.add_argument("--truth", default="data/ground_truth", help="the generator's ground truth")
    p.add_argument(
        "--algorithms",
        nargs="+",
        default=["kmeans", "gmm", "dbscan", "hierarchical"],
        choices=["kmeans", "gmm", "dbscan", "hierarchical"],
    )
    p.add_argument("--out", default="bench", help="folder for clusters_pca.svg")
    p.set_defaults(func=_cmd_evaluate_clusters)


def _cmd_evaluate_identity(args: argparse.Namespace) -> int:
    import duckdb

    from python_utils.identity_eval import evaluate_identity, format_identity_report

    for path in (args.database, args.truth):
        if not Path(path).exists():
            print(f"error: {path} does not exist: run `make demo` first", file=sys.stderr)
            return 1
    with duckdb.connect(args.database, read_only=True) as connection:
        if not connection.execute(
            "select count(*) from information_schema.tables where table_name = 'int_person_customers'"
        ).fetchone()[0]:
            print(f"error: {args.database} has no int_person_customers", file=sys.stderr)
            return 1
        result = evaluate_identity(connection, Path(args.truth))
    print(format_identity_report(result))
    return 0


def _add_evaluate_identity_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate-identity",
        help="recall and precision of the identity graph on the generator's planted CRM cases",
    )
    p.add_argument("--database", default="data/segments.duckdb", help="a built DuckDB file")
    p.add_argument("--truth", default="data/ground_truth", help="the generator's ground truth")
    p.set_defaults(func=_cmd_evaluate_identity)


def _cmd_stream(args: argparse.Namespace) -> int:
    from python_utils.stream import run

    return run(
        args.customers,
        args.days,
        args.seed,
        args.hold_hours,
        args.batch_minutes,
        args.interval,
        args.batches,
        args.out,
    )


def _add_stream_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stream",
        help="streaming demo: micro-batches of events refresh the real-time segments",
    )
    p.add_argument("--customers", type=_positive_int, default=2000)
    p.add_argument("--days", type=_positive_int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--hold-hours",
        type=_positive_float,
        default=4.0,
        help="the last hours of generated events form the stream (default 4)",
    )
    p.add_argument(
        "--batch-minutes",
        type=_positive_float,
        default=30.0,
        help="event time per micro-batch (default 30)",
    )
    p.add_argument(
        "--interval",
        type=_positive_float,
        default=5.0,
        help="seconds between micro-batches (default 5; a batch waits for the previous refresh)",
    )
    p.add_argument(
        "--batches",
        type=_positive_int,
        default=None,
        help="stop after this many batches (default: the whole stream)",
    )
    p.add_argument("--out", default="data/stream", help="work folder (data, database, report)")
    p.set_defaults(func=_cmd_stream)


def _cmd_run(args: argparse.Namespace) -> int:
    from python_utils.jobs import run_job

    return run_job(args.job, args.dbt_args, wait=args.wait)


def _add_run_parser(sub: argparse._SubParsersAction) -> None:
    from python_utils.jobs import DEFAULT_WAIT_SECONDS, EXIT_SKIPPED, JOBS, WAIT_ENV

    p = sub.add_parser(
        "run",
        help="run a job (daily, incremental, realtime) on the database, one job at a time",
        description=(
            "Runs dbt for the job (daily: dbt build; incremental / realtime: dbt build "
            "--selector incremental / realtime) under an exclusive lock on <database>.lock, and "
            "records the run in <database>.runs.jsonl. A job that finds another running waits, "
            f"then skips with exit code {EXIT_SKIPPED}; otherwise the exit code is dbt's. Extra "
            "dbt arguments follow --, e.g. run daily -- --full-refresh."
        ),
    )
    p.add_argument("job", choices=tuple(JOBS), help="the job to run")
    p.add_argument("dbt_args", nargs="*", metavar="DBT_ARG", help="extra dbt arguments, after --")
    p.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"seconds to wait for a running job before skipping (default: {WAIT_ENV['fast']} "
        f"or {DEFAULT_WAIT_SECONDS['fast']:g} for realtime/incremental, "
        f"{WAIT_ENV['daily']} or {DEFAULT_WAIT_SECONDS['daily']:g} for daily)",
    )
    p.set_defaults(func=_cmd_run)


def _cmd_shapes(args: argparse.Namespace) -> int:
    from python_utils.shapes import run

    return run(Path(args.out), args.only, args.threads)


def _add_shapes_parser(sub: argparse._SubParsersAction) -> None:
    from python_utils.shapes import MATRIX

    p = sub.add_parser(
        "shapes",
        help="one full dbt build per data shape; table of models, tests, failures, seconds",
        description=(
            "For each data shape (docs/data-shapes.md) generate small demo data of that shape "
            "under <out>/<shape>/raw, run one dbt build (every model and test) with its own "
            "DuckDB file, target and log path under <out>/<shape>/work, and report "
            "run_results.json. The table is also written to <out>/shapes.md. Exit code 0 when "
            "every shape is green."
        ),
    )
    p.add_argument(
        "--out", default="shapes", help="work folder and report location (default: %(default)s)"
    )
    p.add_argument(
        "--only",
        nargs="+",
        choices=[s.name for s in MATRIX],
        default=None,
        metavar="SHAPE",
        help="only these shapes (default: all)",
    )
    p.add_argument(
        "--threads", type=_positive_int, default=None, help="dbt --threads (default: the profile's)"
    )
    p.set_defaults(func=_cmd_shapes)


def _cmd_deliver(args: argparse.Namespace) -> int:
    from python_utils.deliver import WEBHOOK_ENV, DeliveryConfig, default_database, parse_now, run

    try:
        now = parse_now(args.now) if args.now else None
    except ValueError as exc:
        print(f"python -m python_utils deliver: error: {exc}", file=sys.stderr)
        return 2
    config = DeliveryConfig(
        database=Path(args.database).resolve() if args.database else default_database(),
        webhook_url=args.webhook_url or os.environ.get(WEBHOOK_ENV, ""),
        now=now,
        timeout=args.timeout,
        max_attempts=args.max_attempts,
        backoff_seconds=args.backoff_seconds,
        backoff_max_seconds=args.backoff_max_seconds,
        retry_dead_letters=args.retry_dead_letters,
        limit=args.limit,
        max_seconds=args.max_seconds,
        outbox_schema=args.outbox_schema,
        lock_wait=args.wait,
        progress_every=args.progress_every,
        quiet=args.quiet,
    )
    return run(config)


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _add_deliver_parser(sub: argparse._SubParsersAction) -> None:
    from python_utils.deliver import (
        EXIT_DEAD_LETTERED,
        EXIT_ERROR,
        EXIT_SKIPPED,
        LOG_SCHEMA,
        LOG_TABLE,
        WEBHOOK_ENV,
    )

    p = sub.add_parser(
        "deliver",
        help="POST the due activation_outbox messages to a webhook (retries, delivery log)",
        description=(
            "Under the database lock, reads the messages of activation_outbox that are due "
            "(due_at <= --now) and not yet delivered (nor dead-lettered, unless "
            "--retry-dead-letters) in (due_at, message_id) order, POSTs each as JSON with the "
            "header Idempotency-Key: <message_id>, retries 5xx/408/429/timeouts/connection "
            "errors with exponential backoff, and records every attempt in "
            f"{LOG_SCHEMA}.{LOG_TABLE}. 2xx and 409 = delivered; other 4xx = dead-lettered at "
            f"once. Exit codes: 0 every message attempted was delivered, {EXIT_DEAD_LETTERED} "
            f"some were dead-lettered, {EXIT_ERROR} the run could not start (no database, no "
            f"outbox, no webhook URL), {EXIT_SKIPPED} another job held the database lock for "
            "--wait seconds. See docs/delivery.md."
        ),
    )
    p.add_argument("--webhook-url", default=None, help=f"where to POST (default: ${WEBHOOK_ENV})")
    p.add_argument(
        "--database",
        default=None,
        help="the DuckDB file (default: $SEGMENTS_DUCKDB_PATH, relative to the project "
        "folder, else data/segments.duckdb)",
    )
    p.add_argument(
        "--now",
        default=None,
        metavar="TIMESTAMP",
        help="deliver what is due at this ISO moment, UTC unless it has an offset "
        "(default: the current UTC time)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=5.0,
        help="seconds per request (default: %(default)s)",
    )
    p.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=5,
        help="attempts per message and run before it is dead-lettered (default: %(default)s)",
    )
    p.add_argument(
        "--backoff-seconds",
        type=_non_negative_float,
        default=0.5,
        help="wait before the first retry, doubled for each next one (default: %(default)s)",
    )
    p.add_argument(
        "--backoff-max-seconds",
        type=_non_negative_float,
        default=30.0,
        help="longest wait between attempts, Retry-After included (default: %(default)s)",
    )
    p.add_argument(
        "--retry-dead-letters",
        action="store_true",
        help="send the dead-lettered messages again (their attempts continue)",
    )
    p.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        help="deliver at most this many messages (the earliest due)",
    )
    p.add_argument(
        "--max-seconds",
        type=_positive_float,
        default=None,
        help="start no new message after this many seconds; the rest wait for the "
        "next run (default: no limit)",
    )
    p.add_argument(
        "--outbox-schema",
        default=None,
        help="the schema of activation_outbox when several schemas hold one",
    )
    p.add_argument(
        "--wait",
        type=_non_negative_float,
        default=3600.0,
        metavar="SECONDS",
        help="seconds to wait for a running job's database lock before skipping "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--progress-every",
        type=_non_negative_int,
        default=100,
        metavar="N",
        help="a progress line every N messages, 0 = none (default: %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="only errors")
    p.set_defaults(func=_cmd_deliver)


def _cmd_export_audiences(args: argparse.Namespace) -> int:
    import os

    from python_utils.audience_export import export_audiences

    database = Path(
        args.database or os.environ.get("SEGMENTS_DUCKDB_PATH") or "data/segments.duckdb"
    )
    try:
        exported = export_audiences(database, Path(args.out))
    except (FileNotFoundError, ValueError) as exc:
        print(f"python -m python_utils export-audiences: error: {exc}", file=sys.stderr)
        return 1
    for item in exported:
        state = "written" if item.changed else "unchanged"
        print(f"{item.destination_id}/{item.audience_id}: {item.rows} row(s), {state}")
    return 0


def _add_export_audiences_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-audiences",
        help="write one CSV per destination and audience from the built DuckDB database",
        description=(
            "Write <out>/<destination_id>/<audience_id>.csv (person_id, match_key_type, "
            "match_key; sorted) for every audience of seeds/audience_definitions.csv from the "
            "audience_members mart, plus <out>/manifest.json. Same database, byte-identical "
            "files; each file is replaced atomically (temporary file and rename) and only when "
            "it changed. On Snowflake a reverse-ETL tool reads the tables instead."
        ),
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--database",
        default=None,
        help="the DuckDB file dbt built (default: $SEGMENTS_DUCKDB_PATH, else "
        "data/segments.duckdb)",
    )
    p.set_defaults(func=_cmd_export_audiences)


def _cmd_publish(args: argparse.Namespace) -> int:
    from python_utils.publish import publish

    database = Path(
        args.database or os.environ.get("SEGMENTS_DUCKDB_PATH") or "data/segments.duckdb"
    )
    if not database.exists():
        print(f"python -m python_utils publish: error: no database at {database}", file=sys.stderr)
        return 1
    print(f"published {publish(database)}")
    return 0


def _add_publish_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "publish",
        help="publish the dashboard's read copy of the built DuckDB database",
        description=(
            "Copy the marts the dashboard reads to <db>.published/<n>/ (Parquet and a "
            "manifest) and make it the current copy. Every successful `run` job does this "
            "itself; run it by hand after a `dbt build` outside the jobs, when no build runs."
        ),
    )
    p.add_argument(
        "--database",
        default=None,
        help="the DuckDB file dbt built (default: $SEGMENTS_DUCKDB_PATH, else "
        "data/segments.duckdb)",
    )
    p.set_defaults(func=_cmd_publish)


def _cmd_history(args: argparse.Namespace) -> int:
    from python_utils.history import run

    return run(args.raw, args.out, args.builds, args.dbt_args)


def _add_history_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="land generated data day by day and run the daily job after each of the last N "
        "days: a database with N builds of history (the dashboard's trends, screenshots)",
    )
    p.add_argument(
        "--raw",
        default=os.environ.get("SEGMENTS_RAW_PATH", "data/raw"),
        help="a generated raw folder (default: $SEGMENTS_RAW_PATH, else data/raw)",
    )
    p.add_argument(
        "--out",
        default="data/history",
        help="folder for the landed data and the database (default: %(default)s)",
    )
    p.add_argument(
        "--builds", type=_positive_int, default=8, help="daily builds (default: %(default)s)"
    )
    p.set_defaults(func=_cmd_history, dbt_args=[])


def _cmd_variables(args: argparse.Namespace) -> int:
    from python_utils.variables import run

    return run(check=args.check)


def _add_variables_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "variables",
        help="write docs/variables.md from dbt_project.yml (the variables, their defaults "
        "and comments); --check fails when it is stale",
    )
    p.add_argument(
        "--check", action="store_true", help="compare instead of writing (exit 1 when stale)"
    )
    p.set_defaults(func=_cmd_variables)


COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_generate_parser,
    _add_report_parser,
    _add_check_snowflake_sql_parser,
    _add_load_snowflake_parser,
    _add_bench_clusters_parser,
    _add_stream_parser,
    _add_evaluate_clusters_parser,
    _add_evaluate_identity_parser,
    _add_bench_parser,
    _add_drift_check_parser,
    _add_run_parser,
    _add_shapes_parser,
    _add_deliver_parser,
    _add_export_audiences_parser,
    _add_publish_parser,
    _add_history_parser,
    _add_variables_parser,
)


def build_parser() -> argparse.ArgumentParser:
    """Top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="python -m python_utils", description="Project utilities."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit code. What follows the first
    ``--`` goes to a command that passes arguments on (``run``: to dbt) as they are."""
    argv = list(sys.argv[1:] if argv is None else argv)
    passed_on = argv[argv.index("--") + 1 :] if "--" in argv else []
    parser = build_parser()
    args = parser.parse_args(argv[: len(argv) - len(passed_on) - 1] if "--" in argv else argv)
    if hasattr(args, "dbt_args"):
        args.dbt_args = [*args.dbt_args, *passed_on]
    elif passed_on:
        parser.error(f"{args.command} takes no arguments after --")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
