"""Data-shape matrix: one full ``dbt build`` (every model and test) per shape of input data.

Real data rarely holds every contract table: a shop exports its transaction log, a tracker its
events, a CRM its customers. Each shape of :data:`MATRIX` is the demo generator's normal
simulation with tables left out or rows restricted (``python -m python_utils generate --shape
... --country ... --lapsed-days ... --days ... --customers ...``, see docs/data-shapes.md), kept
small so that a build takes seconds of data work. For each shape this module generates the data,
runs ``dbt build`` once in its own folder (its own DuckDB file, target and log path, as the test
harness does) and reads ``target/run_results.json`` against ``target/manifest.json``::

    python -m python_utils shapes --out shapes

prints one progress line as each shape starts and ends, then the table (also written as markdown
to ``<out>/shapes.md``): models built / total, models skipped, tests passed / total, the failed
or errored nodes with the first line of their message, warnings and seconds. The exit code is 0
when every shape built every model and passed every test, else 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from python_utils.generator import GeneratorConfig, generate

#: generator arguments every shape starts from: small, so a build is quick
BASE_GENERATOR: dict[str, Any] = {"customers": 500, "days": 30, "seed": 11}
#: the generator's default last day (the observation day of every shape)
END_DATE = date(2026, 6, 30)


@dataclass(frozen=True)
class DataShape:
    """One shape of input data: generator arguments on top of BASE_GENERATOR, and the dbt
    variables its build needs."""

    name: str
    leaves_out: str
    generator: dict[str, Any] = field(default_factory=dict)
    dbt_vars: dict[str, Any] = field(default_factory=dict)

    def config(self, out: Path) -> GeneratorConfig:
        """The generator configuration that writes this shape's raw folder ``out``."""
        return GeneratorConfig(out=Path(out), quiet=True, **{**BASE_GENERATOR, **self.generator})

    def generate_args(self) -> list[str]:
        """The same configuration as ``python -m python_utils generate`` arguments."""
        args: list[str] = []
        for key, value in {**BASE_GENERATOR, **self.generator}.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        return args


MATRIX: tuple[DataShape, ...] = (
    DataShape("complete", "nothing: every contract table"),
    DataShape(
        "orders_only",
        "events, order_items, products, customers (no signup dates), consents, deletion "
        "requests, surveys, experiments",
        {"shape": "orders_only"},
    ),
    DataShape(
        "order_items_no_events",
        "events, customers, consents, deletion requests, surveys, experiments",
        {"shape": "order_items_no_events"},
    ),
    DataShape(
        "events_only",
        "orders, order_items, products, customers, consents, deletion requests, surveys, "
        "experiments",
        {"shape": "events_only"},
    ),
    # No events and no orders: as_of cannot be derived from the data.
    DataShape(
        "crm_only",
        "events, orders, order_items, products, device-level consents, deletion requests, "
        "surveys, experiments",
        {"shape": "crm_only"},
        {"as_of": END_DATE.isoformat()},
    ),
    # 30 days of orders, then a year in which ~3% of the customers still buy: the derived as_of
    # would be the end of the busy month (the longest run of activity), so it is given.
    DataShape(
        "orders_only_lapsed",
        "as orders_only; the last 365 days hold only the orders of ~3% of the customers",
        {"shape": "orders_only", "lapsed_days": 365},
        {"as_of": END_DATE.isoformat()},
    ),
    DataShape("one_week", "nothing; 7 days of data", {"days": 7}),
    DataShape(
        "one_country",
        "nothing; every customer and visitor in Germany (EU, opt-in)",
        {"country": "DE"},
    ),
    DataShape(
        "ten_customers", "nothing; 10 customers (and 5 anonymous visitors)", {"customers": 10}
    ),
)
SHAPES_BY_NAME = {shape.name: shape for shape in MATRIX}


def default_project_dir() -> Path:
    """The dbt project: ``SEGMENTS_PROJECT_DIR``, else the folder holding this package (a
    checkout), else the working directory."""
    if os.environ.get("SEGMENTS_PROJECT_DIR"):
        return Path(os.environ["SEGMENTS_PROJECT_DIR"]).resolve()
    checkout = Path(__file__).resolve().parents[1]
    return checkout if (checkout / "dbt_project.yml").exists() else Path.cwd()


# --------------------------------------------------------------------------- #
# Outcome of one build
# --------------------------------------------------------------------------- #

TEST_TYPES = ("test", "unit_test")
#: dbt tag of the tests that judge the data rather than the code: they may fail
BUSINESS_GATE = "business_gate"


@dataclass
class ShapeOutcome:
    """What one shape's build did, read from run_results.json against manifest.json."""

    shape: str
    returncode: int
    seconds: float
    models_total: int = 0
    models_success: int = 0
    models_skipped: int = 0
    tests_total: int = 0
    tests_passed: int = 0
    tests_skipped: int = 0
    #: unique id -> status and first message line of every failed or errored node
    failures: dict[str, str] = field(default_factory=dict)
    #: the failures that are business gates (tag business_gate, failing, not erroring)
    gate_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""  # why dbt stopped without results (parse error, ...)

    #: models not built plus tests neither passed nor a failing (or warning) business gate
    blocking: int = 0

    @property
    def green(self) -> bool:
        """Every model built and every test passed, a failing business gate excepted (the
        rule of tests/python/test_data_shapes.py)."""
        return not self.error and self.models_total > 0 and self.blocking == 0


def first_line(text: str | None) -> str:
    """First non-blank line of a dbt message, without surrounding blanks; for a message with a
    traceback (a Python model that raised) also its last line, the exception."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) > 1 and any(line.startswith("Traceback") for line in lines):
        return f"{lines[0]}: {lines[-1]}"
    return lines[0]


def manifest_nodes(manifest: dict, kinds: tuple[str, ...]) -> dict[str, dict]:
    """Enabled nodes of these resource types (unit tests live in their own section)."""
    nodes = {
        uid: node
        for uid, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") in kinds
    }
    if "unit_test" in kinds:
        nodes.update(manifest.get("unit_tests", {}))
    return nodes


def node_tags(node: dict) -> set[str]:
    """dbt tags of a manifest node (node-level and config-level)."""
    return set(node.get("tags") or []) | set((node.get("config") or {}).get("tags") or [])


def failing_rows(database: Path, compiled_sql: str | None, limit: int = 2) -> str:
    """The first rows a failed data test returns (re-run read-only on the built DuckDB file),
    e.g. ``segment_name=lapsed_customer, member_share=0.9, failure=share above 0.6``."""
    if not compiled_sql or not Path(database).exists():
        return ""
    import duckdb

    try:
        with duckdb.connect(str(database), read_only=True) as connection:
            relation = connection.sql(f"select * from ({compiled_sql}) as failing limit {limit}")
            names, rows = relation.columns, relation.fetchall()
    except Exception:  # noqa: BLE001 - an illustration only; the status is what counts
        return ""
    shown = []
    for row in rows:
        cells = [
            f"{name}={round(value, 3) if isinstance(value, float) else value}"
            for name, value in zip(names, row)
            if value is not None
        ]
        shown.append(", ".join(cells[:6]))
    return "; ".join(shown)


def summarize(
    shape: str,
    returncode: int,
    seconds: float,
    results: list[dict],
    manifest: dict,
    output: str = "",
    database: Path | None = None,
) -> ShapeOutcome:
    """Count models and tests of one build (``database``: show a failed test's rows)."""
    outcome = ShapeOutcome(shape, returncode, seconds)
    status = {r["unique_id"]: r for r in results}
    models = manifest_nodes(manifest, ("model",))
    tests = manifest_nodes(manifest, TEST_TYPES)
    outcome.models_total = len(models)
    outcome.tests_total = len(tests)
    for uid in models:
        state = status.get(uid, {}).get("status", "not run")
        outcome.models_success += state == "success"
        outcome.models_skipped += state in ("skipped", "not run")
        outcome.blocking += state != "success"
    for uid, node in tests.items():
        state = status.get(uid, {}).get("status", "not run")
        outcome.tests_passed += state == "pass"
        outcome.tests_skipped += state in ("skipped", "not run")
        outcome.blocking += state != "pass" and not (
            state in ("fail", "warn") and BUSINESS_GATE in node_tags(node)
        )
    for r in results:
        gate = BUSINESS_GATE in node_tags(tests.get(r["unique_id"], {}))
        if gate and r["status"] in ("fail", "warn"):
            outcome.gate_failures.append(r["unique_id"])
        if r["status"] in ("error", "fail", "runtime error"):
            text = f"{r['status']}: {first_line(r.get('message'))}"
            rows = (
                failing_rows(database, r.get("compiled_code"))
                if (database and r["status"] == "fail")
                else ""
            )
            text = f"{text} [{rows}]" if rows else text
            outcome.failures[r["unique_id"]] = (
                f"(business gate) {text}" if gate and (r["status"] == "fail") else text
            )
        elif r["status"] == "warn":
            rows = failing_rows(database, r.get("compiled_code")) if database else ""
            text = f"{r['unique_id']}: {'(business gate) ' if gate else ''}"
            text += first_line(r.get("message")) + (f" [{rows}]" if rows else "")
            outcome.warnings.append(text)
    if returncode != 0 and not outcome.failures:
        errors = [line for line in output.splitlines() if "error" in line.lower()]
        outcome.error = first_line(errors[-1] if errors else output.strip()[-300:]) or (
            f"dbt exited with {returncode}"
        )
    return outcome


# --------------------------------------------------------------------------- #
# Running one shape (the conventions of tests/python/dbt_harness.py)
# --------------------------------------------------------------------------- #


def write_profiles(folder: Path, project_dir: Path) -> Path:
    """profiles.yml from profiles.example.yml, as the set-up writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (project_dir / "profiles.example.yml").read_text()
    (folder / "profiles.yml").write_text(text.replace("__PROJECT_DIR__", str(project_dir)))
    return folder


def run_shape(
    shape: DataShape,
    root: Path,
    project_dir: Path,
    threads: int | None = None,
    dbt_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> ShapeOutcome:
    """Generate ``shape`` under ``root/<name>/raw`` and run one ``dbt build`` on it."""
    folder = root / shape.name
    raw, work = folder / "raw", folder / "work"
    generate(shape.config(raw))
    profiles = write_profiles(work / "profiles", project_dir)
    database = work / "segments.duckdb"
    database.unlink(missing_ok=True)  # every build starts from nothing
    target_path = work / "target"
    for stale in ("run_results.json", "manifest.json"):
        (target_path / stale).unlink(missing_ok=True)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(profiles),
        "SEGMENTS_RAW_PATH": str(raw),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "SEGMENTS_PROJECT_DIR": str(project_dir),
        "SEGMENTS_TARGET": "duckdb",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(extra_env or {}),
    }
    command = [
        str(Path(sys.executable).parent / "dbt"),
        "build",
        "--target-path",
        str(target_path),
        "--log-path",
        str(work / "logs"),
        *dbt_args,
    ]
    if threads:
        command += ["--threads", str(threads)]
    if shape.dbt_vars:
        command += ["--vars", json.dumps(shape.dbt_vars)]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = proc.stdout + proc.stderr
    (work / "dbt_output.txt").write_text(output)
    results_file, manifest_file = target_path / "run_results.json", target_path / "manifest.json"
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    return summarize(shape.name, proc.returncode, seconds, results, manifest, output, database)


# --------------------------------------------------------------------------- #
# The table
# --------------------------------------------------------------------------- #

HEADER = (
    "shape",
    "models built / total",
    "models skipped",
    "tests passed / total",
    "tests failed / errored",
    "warnings",
    "seconds",
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_rows(outcomes: list[ShapeOutcome]) -> list[tuple[str, ...]]:
    rows = []
    for o in outcomes:
        failed = [f"`{uid}` {message}" for uid, message in o.failures.items()]
        if o.error:
            failed.append(f"dbt stopped: {o.error}")
        tests = f"{o.tests_passed} / {o.tests_total}"
        if o.tests_skipped:
            tests += f" ({o.tests_skipped} skipped)"
        rows.append(
            (
                o.shape,
                f"{o.models_success} / {o.models_total}",
                str(o.models_skipped),
                tests,
                "<br>".join(_cell(f) for f in failed) if failed else "none",
                "<br>".join(_cell(w) for w in o.warnings) if o.warnings else "0",
                f"{o.seconds:.0f}",
            )
        )
    return rows


def markdown_table(outcomes: list[ShapeOutcome]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(outcomes)]
    return "\n".join(lines) + "\n"


def text_table(outcomes: list[ShapeOutcome]) -> str:
    """The table for a terminal: the counts in columns, failures listed below each row."""
    head = ("shape", "models ok/total", "skipped", "tests ok/total", "failed", "warn", "s")
    rows = [
        (
            o.shape,
            f"{o.models_success}/{o.models_total}",
            str(o.models_skipped),
            f"{o.tests_passed}/{o.tests_total}",
            str(len(o.failures) + bool(o.error)),
            str(len(o.warnings)),
            f"{o.seconds:.0f}",
        )
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths))]
    for o, row in zip(outcomes, rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        for uid, message in o.failures.items():
            lines.append(f"    {uid}: {message}")
        if o.error:
            lines.append(f"    dbt stopped: {o.error}")
        for warning in o.warnings:
            lines.append(f"    warn {warning}")
    return "\n".join(lines)


def run(
    out: Path,
    names: list[str] | None = None,
    threads: int | None = None,
    project_dir: Path | None = None,
    echo: Callable[[str], object] = print,
) -> int:
    """Build every shape (or those named), print and write the table; 0 when all are green."""
    out = Path(out).resolve()
    project_dir = project_dir or default_project_dir()
    shapes = [SHAPES_BY_NAME[n] for n in names] if names else list(MATRIX)
    outcomes: list[ShapeOutcome] = []
    started = time.perf_counter()
    for i, shape in enumerate(shapes, 1):
        echo(f"[{i}/{len(shapes)}] {shape.name}: generating and building ...")
        outcome = run_shape(shape, out, project_dir, threads)
        outcomes.append(outcome)
        gates = (
            f", {len(outcome.gate_failures)} business gate(s) failing or warning"
            if outcome.gate_failures
            else ""
        )
        verdict = (
            f"green{gates}"
            if outcome.green
            else (
                f"{len(outcome.failures) + bool(outcome.error)} failed/errored, "
                f"{outcome.models_skipped} models skipped"
            )
        )
        echo(
            f"[{i}/{len(shapes)}] {shape.name}: {verdict} "
            f"({outcome.models_success}/{outcome.models_total} models, "
            f"{outcome.tests_passed}/{outcome.tests_total} tests) in {outcome.seconds:.0f} s"
        )
    total = time.perf_counter() - started
    markdown = markdown_table(outcomes)
    out.mkdir(parents=True, exist_ok=True)
    (out / "shapes.md").write_text(
        f"# dbt build per data shape\n\n{markdown}\nTotal wall time {total:.0f} s "
        f"(generation included). Shapes: docs/data-shapes.md.\n"
    )
    (out / "shapes.json").write_text(
        json.dumps([o.__dict__ | {"green": o.green} for o in outcomes], indent=2) + "\n"
    )
    echo("")
    echo(text_table(outcomes))
    echo(f"\ntotal {total:.0f} s; wrote {out / 'shapes.md'}")
    return 0 if all(o.green for o in outcomes) else 1
