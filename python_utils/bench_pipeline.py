"""Pipeline benchmark (`make bench`): the full `dbt build` at several data sizes against a
hand-written baseline in the same run.

For each scale: generate demo data with about that many events (the generator's personas,
180 days) and hold back its latest 1% of events; run the full `dbt build` (every model and test)
on a fresh DuckDB file; on another fresh file, the project's models behind the core outputs
(CORE_MODELS, no tests); then python_utils/sql/baseline.sql, a single hand-written DuckDB script
that computes those same outputs (sessions, customer_rfm, customer_engagement: typing, validity,
replay dedupe, consent and deletion exclusions, identity stitching included) straight from the
raw files, and checks that they equal the marts row for row (`compare_baseline`). Then land the held-back 1% (all but its last 10 minutes) as a
new file and time the incremental run (`dbt build --selector incremental`: staging, as_of,
the sessions of the visitors with new events, the real-time segments) and then the daily
`dbt build` (the per-person marts and the models on top); then land the last 10 minutes as one
micro-batch and time the real-time path (`dbt build --selector realtime`). Every step runs in
its own process, so its peak memory (ru_maxrss) is its own.
Reports wall time, events per second, peak memory, database size and the ratio dbt / baseline,
fits the growth exponent (seconds ~ events^b), prints a table, and writes JSON and an SVG chart.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from python_utils.stream import hold_back, land

PROJECT_DIR = Path(__file__).resolve().parent.parent
EVENTS_PER_CUSTOMER = 116  # the generator's 180-day demo: 1.16M events for 10,000 customers
BASELINE_SQL = Path(__file__).resolve().parent / "sql" / "baseline.sql"
# the models (and their parents) that compute what the baseline script computes
CORE_MODELS = ["+sessions", "+customer_rfm", "+customer_engagement"]
# mart -> the baseline script's table with the same rows
BASELINE_TABLES = {
    "sessions": "baseline_sessions",
    "customer_rfm": "baseline_customer_rfm",
    "customer_engagement": "baseline_customer_engagement",
}


def _run(args: list[str], log: Path, env: dict | None = None) -> tuple[float, float, int]:
    """Run a command to completion; (wall seconds, peak RSS in MB, return code)."""
    started = time.perf_counter()
    with log.open("w") as handle:
        proc = subprocess.Popen(
            args,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_DIR,
            env={**os.environ, **(env or {})},
        )
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def run_baseline(
    raw: str, as_of: str, database: str, seeds: str = str(PROJECT_DIR / "seeds")
) -> None:
    """Run python_utils/sql/baseline.sql on the raw folder into a DuckDB file (its own process in
    the bench, so its time and peak memory are its own; the tests call it directly). It reads the
    identity seeds (CRM match-key rules, reviewed decisions) from the project's seeds folder."""
    import duckdb

    script = BASELINE_SQL.read_text().format(raw=raw, as_of=as_of, seeds=seeds)
    with duckdb.connect(database) as connection:
        connection.execute(script)


def compare_baseline(baseline_database: str, dbt_database: str) -> dict[str, dict[str, int]]:
    """Per mart: its rows, and the rows only the mart or only the baseline has (EXCEPT ALL over
    every column, both ways). All zeros: the baseline computes exactly the marts' rows."""
    import duckdb

    out = {}
    with duckdb.connect(baseline_database, read_only=True) as connection:
        connection.execute(f"attach '{dbt_database}' as dbt_marts (read_only)")
        for mart, table in BASELINE_TABLES.items():
            rows, only_dbt, only_baseline = connection.execute(
                f"select (select count(*) from dbt_marts.{mart}), "
                f"(select count(*) from (select * from dbt_marts.{mart} "
                f"except all select * from {table})), "
                f"(select count(*) from (select * from {table} "
                f"except all select * from dbt_marts.{mart}))"
            ).fetchone()
            out[mart] = {"rows": rows, "only_dbt": only_dbt, "only_baseline": only_baseline}
    return out


#: the models that fit (or, when no refit is due, check and keep) a model
FIT_NODES = ("segment_model_runs", "supervised_model_runs", "feature_importance")


def _node_seconds(work: Path, names: tuple[str, ...] = FIT_NODES) -> dict[str, float]:
    """Seconds of the named nodes in the last dbt invocation in work/target."""
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    seconds = {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
        for r in results
        if r["unique_id"].startswith("model.") and r["unique_id"].split(".")[-1] in names
    }
    return {name: seconds.get(name, 0.0) for name in names}


def _slowest(work: Path, count: int = 4) -> dict[str, float]:
    """The slowest nodes of the last dbt invocation in work/target (seconds)."""
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    ranked = sorted(results, key=lambda r: -r["execution_time"])[:count]
    return {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in ranked}


#: the activation layer whose cost the bench reports on its own: the models of these folders
#: (marts and the recommendations' intermediate models) and the long-form membership list they
#: all read
ACTIVATION_FOLDERS = ("models/marts/activation/", "models/intermediate/activation/")
ACTIVATION_EXTRA = frozenset({"segment_memberships"})


def _activation_seconds(work: Path) -> dict[str, float]:
    """Node seconds of the activation models and of the tests attached to them, in the last dbt
    invocation in work/target (from run_results.json and the manifest)."""
    target = work / "target"
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    models = {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] == "model"
        and (
            node["original_file_path"].startswith(ACTIVATION_FOLDERS)
            or node["name"] in ACTIVATION_EXTRA
        )
    }
    tests = {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] == "test" and node.get("attached_node") in models
    }
    results = json.loads((target / "run_results.json").read_text())["results"]
    model_seconds = sum(r["execution_time"] for r in results if r["unique_id"] in models)
    test_seconds = sum(r["execution_time"] for r in results if r["unique_id"] in tests)
    by_folder = {
        folder: round(
            sum(
                r["execution_time"]
                for r in results
                if r["unique_id"] in models
                and nodes[r["unique_id"]]["original_file_path"].startswith(folder)
            ),
            2,
        )
        for folder in ACTIVATION_FOLDERS
    }
    return {
        "models": round(model_seconds, 2),
        "tests": round(test_seconds, 2),
        "model_count": sum(1 for r in results if r["unique_id"] in models),
        "models_by_folder": by_folder,
    }


def _names(slowest: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest.items())


def _fit_exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(seconds) against log(events)."""
    if len(points) < 2:
        return None
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def bench_scale(target_events: int, out: Path, seed: int) -> dict:
    import duckdb

    work = out / f"events_{target_events}"
    raw, database = work / "raw", work / "segments.duckdb"
    work.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    customers = max(100, round(target_events / EVENTS_PER_CUSTOMER))
    print(f"[{target_events:,} events] generating {customers:,} customers ...", flush=True)
    gen_seconds, _, code = _run(
        [
            sys.executable,
            "-m",
            "python_utils",
            "generate",
            "--customers",
            str(customers),
            "--days",
            "180",
            "--seed",
            str(seed),
            "--out",
            str(raw),
            "--truth-out",
            str(work / "truth"),
        ],
        work / "generate.log",
    )
    if code:
        raise RuntimeError(f"generation failed: see {work / 'generate.log'}")
    held = work / "held_back_events.parquet"
    held_count, _, last = hold_back(raw, held, share=0.01)
    events = duckdb.sql(f"select count(*) from read_parquet('{raw}/events/*.parquet')").fetchall()[
        0
    ][0]
    print(
        f"  {events + held_count:,} events generated in {gen_seconds:.1f} s, the latest "
        f"{held_count:,} held back; dbt build ...",
        flush=True,
    )
    dbt = str(Path(sys.executable).parent / "dbt")
    dbt_env = {
        "SEGMENTS_RAW_PATH": str(raw),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "SEGMENTS_PROJECT_DIR": str(PROJECT_DIR),
    }
    dbt_paths = ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    # Speed, not data judgement: the segment-size gates only warn on synthetic data of any size.
    build_seconds, build_mb, code = _run(
        [dbt, "build", *dbt_paths, "--vars", '{"segment_test_severity": "warn"}'],
        work / "dbt_build.log",
        env=dbt_env,
    )
    if code:
        raise RuntimeError(f"dbt build failed: see {work / 'dbt_build.log'}")
    build_activation = _activation_seconds(work)
    build_fits = _node_seconds(work)
    with duckdb.connect(str(database), read_only=True) as connection:
        as_of = str(
            connection.sql("select as_of_date from stg_observation_window").fetchall()[0][0]
        )
        dbt_sessions = connection.sql("select count(*) from sessions").fetchall()[0][0]
        dbt_rfm = connection.sql("select count(*) from customer_rfm").fetchall()[0][0]
    size_mb = database.stat().st_size / 1e6
    print(
        f"  dbt build {build_seconds:.1f} s, peak {build_mb:,.0f} MB (activation: "
        f"{build_activation['models']:.1f} s in {build_activation['model_count']} models, "
        f"{build_activation['tests']:.1f} s of their tests); the same outputs as the "
        "baseline (models only) ...",
        flush=True,
    )
    # Apples to apples: the models behind the baseline's outputs (staged events with their
    # quarantine, privacy and identity, sessions, RFM, engagement), no tests, on a fresh file.
    core_db = work / "core.duckdb"
    core_db.unlink(missing_ok=True)
    # its own target path: another database file would otherwise void the partial parse the
    # incremental run below relies on, as it does in daily use
    core_paths = ["--target-path", str(work / "target_core"), "--log-path", str(work / "logs")]
    core_seconds, core_mb, code = _run(
        [
            dbt,
            "build",
            *core_paths,
            "--select",
            *CORE_MODELS,
            "--exclude-resource-type",
            "test",
            "--exclude-resource-type",
            "unit_test",
        ],
        work / "dbt_core.log",
        env={**dbt_env, "SEGMENTS_DUCKDB_PATH": str(core_db)},
    )
    if code:
        raise RuntimeError(f"core dbt build failed: see {work / 'dbt_core.log'}")
    print(f"  core models {core_seconds:.1f} s, peak {core_mb:,.0f} MB; baseline ...", flush=True)
    baseline_db = work / "baseline.duckdb"
    baseline_db.unlink(missing_ok=True)
    base_seconds, base_mb, code = _run(
        [
            sys.executable,
            "-c",
            "import sys; from python_utils.bench_pipeline import "
            "run_baseline as b; b(*sys.argv[1:])",
            str(raw),
            as_of,
            str(baseline_db),
        ],
        work / "baseline.log",
    )
    if code:
        raise RuntimeError(f"baseline failed: see {work / 'baseline.log'}")
    equality = compare_baseline(str(baseline_db), str(core_db))
    outputs_equal = all(v["only_dbt"] == v["only_baseline"] == 0 for v in equality.values())
    verdict = (
        "equal to the marts row for row"
        if outputs_equal
        else "DIFFERENT from the marts: "
        + ", ".join(
            f"{m} {v['only_dbt']} rows only in dbt, {v['only_baseline']} only in the baseline"
            for m, v in equality.items()
        )
    )
    print(
        f"  baseline {base_seconds:.1f} s, peak {base_mb:,.0f} MB; its outputs are {verdict}",
        flush=True,
    )
    micro_start = (
        duckdb.sql(f"select cast('{last}' as timestamp) - interval 10 minute")
        .fetchall()[0][0]
        .isoformat()
    )
    increment = land(held, raw / "events" / "increment-00001.parquet", end=micro_start)
    print(
        f"  +{increment:,} events ({increment / events:.1%}) as a new file: "
        "dbt build --selector incremental ...",
        flush=True,
    )
    inc_seconds, inc_mb, code = _run(
        [
            dbt,
            "build",
            *dbt_paths,
            "--selector",
            "incremental",
            "--vars",
            '{"segment_test_severity": "warn"}',
        ],
        work / "dbt_incremental.log",
        env=dbt_env,
    )
    if code:
        raise RuntimeError(f"incremental run failed: see {work / 'dbt_incremental.log'}")
    inc_slowest = _slowest(work)
    print(
        f"  incremental run {inc_seconds:.1f} s, peak {inc_mb:,.0f} MB (slowest: "
        f"{_names(inc_slowest)}); daily dbt build ...",
        flush=True,
    )
    daily_seconds, daily_mb, code = _run(
        [dbt, "build", *dbt_paths, "--vars", '{"segment_test_severity": "warn"}'],
        work / "dbt_daily.log",
        env=dbt_env,
    )
    if code:
        raise RuntimeError(f"daily dbt build failed: see {work / 'dbt_daily.log'}")
    daily_slowest = _slowest(work)
    daily_activation = _activation_seconds(work)
    daily_fits = _node_seconds(work)
    micro = land(held, raw / "events" / "stream-00001.parquet", start=micro_start)
    print(
        f"  daily build {daily_seconds:.1f} s, peak {daily_mb:,.0f} MB (slowest: "
        f"{_names(daily_slowest)}; activation {daily_activation['models']:.1f} s of models, "
        f"{daily_activation['tests']:.1f} s of tests); +{micro:,} events (10 minutes): "
        "dbt build --selector realtime ...",
        flush=True,
    )
    # the same vars as the builds before, so dbt's partial parsing applies as in daily use
    rt_seconds, rt_mb, code = _run(
        [
            dbt,
            "build",
            *dbt_paths,
            "--selector",
            "realtime",
            "--vars",
            '{"segment_test_severity": "warn"}',
        ],
        work / "dbt_realtime.log",
        env=dbt_env,
    )
    if code:
        raise RuntimeError(f"real-time build failed: see {work / 'dbt_realtime.log'}")
    slowest = _slowest(work)
    realtime_activation = _activation_seconds(work)
    print(
        f"  real-time path {rt_seconds:.1f} s, peak {rt_mb:,.0f} MB (slowest: "
        f"{_names(slowest)}; activation {realtime_activation['models']:.1f} s of models, "
        f"{realtime_activation['tests']:.1f} s of tests)",
        flush=True,
    )
    forced_seconds, forced_mb, code = _run(
        [
            dbt,
            "build",
            *dbt_paths,
            "--vars",
            '{"segment_test_severity": "warn", "model_refit_force": true}',
        ],
        work / "dbt_forced.log",
        env=dbt_env,
    )
    if code:
        raise RuntimeError(f"forced-refit build failed: see {work / 'dbt_forced.log'}")
    forced_fits = _node_seconds(work)
    # The fits on their own: in a build, dbt's other thread (SQL using both cores, or another
    # Python model holding the GIL) runs beside them, so their node times there are shared time.
    alone_seconds, _, code = _run(
        [
            dbt,
            "run",
            *dbt_paths,
            "--threads",
            "1",
            "--select",
            *FIT_NODES,
            "--vars",
            '{"segment_test_severity": "warn", "model_refit_force": true}',
        ],
        work / "dbt_fits_alone.log",
        env=dbt_env,
    )
    if code:
        raise RuntimeError(f"fits alone failed: see {work / 'dbt_fits_alone.log'}")
    alone_fits = _node_seconds(work)
    print(
        f"  daily build with every refit forced {forced_seconds:.1f} s, peak {forced_mb:,.0f} "
        f"MB; fit seconds (full build): {build_fits}; (no refit due): {daily_fits}; "
        f"(forced): {forced_fits}; (forced, the fitting models alone, one thread): "
        f"{alone_fits}",
        flush=True,
    )
    return {
        "target_events": target_events,
        "events": events,
        "customers": customers,
        "as_of": as_of,
        "generate_seconds": round(gen_seconds, 2),
        "dbt_build_seconds": round(build_seconds, 2),
        "events_per_second": round(events / build_seconds),
        "dbt_peak_memory_mb": round(build_mb),
        "database_mb": round(size_mb, 1),
        "baseline_seconds": round(base_seconds, 2),
        "baseline_peak_memory_mb": round(base_mb),
        "ratio_dbt_to_baseline": round(build_seconds / base_seconds, 2),
        "core_models_seconds": round(core_seconds, 2),
        "core_peak_memory_mb": round(core_mb),
        "ratio_core_to_baseline": round(core_seconds / base_seconds, 2),
        "incremental_events": increment,
        "incremental_seconds": round(inc_seconds, 2),
        "incremental_peak_memory_mb": round(inc_mb),
        "incremental_share_of_full": round(inc_seconds / build_seconds, 3),
        "incremental_slowest_nodes": inc_slowest,
        "daily_build_seconds": round(daily_seconds, 2),
        "daily_peak_memory_mb": round(daily_mb),
        "daily_share_of_full": round(daily_seconds / build_seconds, 3),
        "daily_slowest_nodes": daily_slowest,
        "realtime_events": micro,
        "realtime_path_seconds": round(rt_seconds, 2),
        "realtime_peak_memory_mb": round(rt_mb),
        "realtime_slowest_nodes": slowest,
        "forced_refit_build_seconds": round(forced_seconds, 2),
        "forced_refit_peak_memory_mb": round(forced_mb),
        "forced_refit_share_of_full": round(forced_seconds / build_seconds, 3),
        "fit_seconds_full_build": build_fits,
        "fit_seconds_daily_no_refit": daily_fits,
        "fit_seconds_forced_refit": forced_fits,
        "fit_seconds_full_build_total": round(sum(build_fits.values()), 2),
        "fit_seconds_alone": alone_fits,
        "fit_seconds_alone_total": round(sum(alone_fits.values()), 2),
        "fits_alone_invocation_seconds": round(alone_seconds, 2),
        "activation_seconds": {
            "full_build": build_activation,
            "daily_build": daily_activation,
            "realtime_path": realtime_activation,
        },
        "sessions_dbt": dbt_sessions,
        "rfm_customers_dbt": dbt_rfm,
        "baseline_outputs_equal": outputs_equal,
        "baseline_comparison": equality,
    }


def run(scales: list[int], out: str, seed: int = 7) -> int:
    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    results = [bench_scale(scale, out_dir, seed) for scale in scales]
    header = (
        f"{'events':>11} {'dbt build s':>11} {'events/s':>9} {'peak MB':>8} {'db MB':>7} "
        f"{'baseline s':>10} {'base MB':>8} {'ratio':>6} {'core s':>7} {'ratio':>6} "
        f"{'+1% s':>7} {'share':>6} "
        f"{'daily s':>8} {'share':>6} {'forced s':>8} {'fits s':>7} {'alone':>6} "
        f"{'realtime s':>10} "
        f"{'sessions':>10} {'base=dbt':>8}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r['events']:>11,} {r['dbt_build_seconds']:>11.1f} {r['events_per_second']:>9,} "
            f"{r['dbt_peak_memory_mb']:>8,} {r['database_mb']:>7,.0f} "
            f"{r['baseline_seconds']:>10.1f} {r['baseline_peak_memory_mb']:>8,} "
            f"{r['ratio_dbt_to_baseline']:>6.2f} {r['core_models_seconds']:>7.1f} "
            f"{r['ratio_core_to_baseline']:>6.2f} {r['incremental_seconds']:>7.1f} "
            f"{r['incremental_share_of_full']:>6.1%} {r['daily_build_seconds']:>8.1f} "
            f"{r['daily_share_of_full']:>6.1%} {r['forced_refit_build_seconds']:>8.1f} "
            f"{r['fit_seconds_full_build_total']:>7.1f} {r['fit_seconds_alone_total']:>6.1f} "
            f"{r['realtime_path_seconds']:>10.1f} "
            f"{r['sessions_dbt']:>10,} {'yes' if r['baseline_outputs_equal'] else 'NO':>8}"
        )
    dbt_exponent = _fit_exponent([(r["events"], r["dbt_build_seconds"]) for r in results])
    base_exponent = _fit_exponent([(r["events"], r["baseline_seconds"]) for r in results])
    core_exponent = _fit_exponent([(r["events"], r["core_models_seconds"]) for r in results])
    inc_exponent = _fit_exponent([(r["events"], r["incremental_seconds"]) for r in results])
    if dbt_exponent is not None:
        print(
            f"\ngrowth exponent (seconds ~ events^b): dbt build b = {dbt_exponent:.2f}, "
            f"core models b = {core_exponent:.2f}, baseline b = {base_exponent:.2f}, "
            f"incremental run b = {inc_exponent:.2f}"
        )
    print(
        "core s: the models behind the baseline's outputs (+sessions +customer_rfm "
        "+customer_engagement: staging with quarantine, privacy, identity), no tests, on a "
        "fresh file; base=dbt: the baseline's three tables equal these marts row for row"
    )
    print(
        "+1% s: the incremental run, `dbt build --selector incremental`, after 1% new events "
        "in a new file (share: of the full build); daily s: then the daily `dbt build` "
        "(marts and models; no refit due: the stored models score); forced s: the daily build "
        "with model_refit_force; fits s: the full build's fitting models (segment_model_runs, "
        "supervised_model_runs, feature_importance; node seconds, shared with dbt's other "
        "thread); alone: the same fits forced, run alone on one dbt thread; realtime s: "
        "`dbt build --selector "
        "realtime` after a 10-minute micro-batch"
    )
    (out_dir / "bench_pipeline.json").write_text(
        json.dumps(
            {
                "results": results,
                "dbt_growth_exponent": dbt_exponent,
                "core_models_growth_exponent": core_exponent,
                "baseline_growth_exponent": base_exponent,
                "incremental_growth_exponent": inc_exponent,
            },
            indent=2,
        )
    )
    from python_utils.charts import line_chart

    (out_dir / "bench_pipeline.svg").write_text(
        line_chart(
            {
                "dbt build (all models + tests)": [
                    (r["events"], r["dbt_build_seconds"]) for r in results
                ],
                "hand-written baseline (same marts)": [
                    (r["events"], r["baseline_seconds"]) for r in results
                ],
                "dbt models of the same outputs": [
                    (r["events"], r["core_models_seconds"]) for r in results
                ],
                "incremental run after +1% events": [
                    (r["events"], r["incremental_seconds"]) for r in results
                ],
                "daily build after it": [(r["events"], r["daily_build_seconds"]) for r in results],
                "real-time path (10-minute batch)": [
                    (r["events"], r["realtime_path_seconds"]) for r in results
                ],
            },
            "Pipeline time against data size",
            "events",
            "seconds",
            log_x=True,
            log_y=True,
        )
    )
    print(f"wrote {out_dir / 'bench_pipeline.json'} and {out_dir / 'bench_pipeline.svg'}")
    return 0
