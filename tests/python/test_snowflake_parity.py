"""Snowflake parity, offline: the project builds and tests on a Snowflake-compatible server
(fakesnow on loopback, target snowflake_local) with the same results as on DuckDB, and the
SQL that real Snowflake would receive parses with a strict Snowflake grammar."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dbt_harness import PROJECT_DIR, FakesnowServer, generate, query, run_dbt
from python_utils.snowflake_dialect import check_manifest, check_sql
from python_utils.warehouse import load_raw_folder

SMALL_ARGS = ("--customers", "120", "--days", "14", "--seed", "5", "--dirty-rate", "0.05")
NO_SHIMS = {"fakesnow_shims": False}

COMPARED_MODELS = [
    "stg_app__events", "stg_app__events_quarantine", "stg_shop__orders",
    "stg_shop__orders_quarantine", "stg_shop__order_items", "stg_shop__order_items_quarantine",
    "stg_crm__customers", "stg_crm__customers_quarantine", "stg_privacy__consents",
    "stg_privacy__consents_quarantine", "int_events_permitted", "int_orders_permitted",
    "int_customers_permitted", "int_privacy_exclusions", "int_consents_resolved",
]


@pytest.fixture(scope="module")
def snowflake_local(tmp_path_factory):
    """A fakesnow server holding the small dirty dataset as raw tables, built with dbt."""
    root = tmp_path_factory.mktemp("snowflake_local")
    raw = root / "raw"
    generate(raw, *SMALL_ARGS, "--truth-out", str(root / "truth"))
    with FakesnowServer(root / "fakesnow.log") as server:
        with server.connect() as connection:
            cursor = connection.cursor()
            cursor.execute("create database if not exists SEGMENTS")
            load_raw_folder(raw, cursor.execute, cursor.executemany, "SEGMENTS.RAW")
        env = {"FAKESNOW_PORT": str(server.port)}
        snowflake_run = run_dbt(["build"], raw, root / "snowflake", target="snowflake_local",
                                extra_env=env, timeout=1200)
        duckdb_run = run_dbt(["build"], raw, root / "duckdb")
        yield {"server": server, "raw": raw, "root": root, "env": env,
               "snowflake": snowflake_run, "duckdb": duckdb_run}


def test_every_model_and_test_passes_on_the_snowflake_local_target(snowflake_local):
    run = snowflake_local["snowflake"]
    assert run.returncode == 0, run.output[-6000:]
    assert run.failures() == []
    kinds = {r["unique_id"].split(".")[0] for r in run.results()}
    assert {"model", "test", "unit_test"} <= kinds
    duckdb_nodes = {r["unique_id"] for r in snowflake_local["duckdb"].results()}
    snowflake_nodes = {r["unique_id"] for r in run.results()}
    # the same models and tests ran on both engines (tests enabled only on DuckDB excepted)
    assert {n for n in duckdb_nodes if n.startswith("model.")} == {
        n for n in snowflake_nodes if n.startswith("model.")
    }


@pytest.mark.parametrize("model", COMPARED_MODELS)
def test_snowflake_and_duckdb_give_the_same_rows(snowflake_local, model):
    """Row counts and reason counts agree between the engines for every compared model."""
    duck = snowflake_local["duckdb"].database
    columns = [c for (c,) in query(
        duck, "select column_name from information_schema.columns "
              f"where table_name = '{model}' and table_schema = 'main'")]
    group = next((c for c in ("reason", "exclusion_reason", "purpose", "status", "event_type")
                  if c in columns), None)
    select = f"select {group or 'null'} as k, count(*) from {{}}.{model} group by 1"
    duck_rows = {str(k): n for k, n in query(duck, select.format("main"))}
    with snowflake_local["server"].connect() as connection:
        snow_rows = {
            str(k): n for k, n in
            connection.cursor().execute(select.format("SEGMENTS.ANALYTICS")).fetchall()
        }
    assert snow_rows == duck_rows
    assert sum(duck_rows.values()) > 0


def test_observation_window_agrees(snowflake_local):
    duck = query(snowflake_local["duckdb"].database,
                 "select as_of_date, observation_end_at from stg_observation_window")
    with snowflake_local["server"].connect() as connection:
        snow = connection.cursor().execute(
            "select as_of_date, observation_end_at from SEGMENTS.ANALYTICS.stg_observation_window"
        ).fetchall()
    assert [tuple(r) for r in snow] == duck


def test_compiled_project_parses_as_snowflake_sql(snowflake_local):
    """What real Snowflake receives (emulator shims off) passes the strict dialect check."""
    root = snowflake_local["root"]
    run = run_dbt(["compile"], snowflake_local["raw"], root / "compile", target="snowflake_local",
                  extra_env=snowflake_local["env"], dbt_vars=NO_SHIMS)
    assert run.returncode == 0, run.output[-4000:]
    problems = check_manifest(run.target_path / "manifest.json")
    assert [str(p) for p in problems] == []
    models = [n for n in run.manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 40
    # the shims are really off: the real Snowflake timestamp parser is what was checked
    events = next(n for n in models if n["name"] == "base_app__events")
    assert "try_to_timestamp_tz" in events["compiled_code"]


def test_a_duckdb_only_model_fails_the_check_with_its_name(snowflake_local, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for item in ("dbt_project.yml", "models", "macros", "tests", "analyses", "docs", "seeds"):
        source = PROJECT_DIR / item
        if source.is_dir():
            shutil.copytree(source, project / item, ignore=shutil.ignore_patterns("python"))
        elif source.exists():
            shutil.copy(source, project / item)
    bad = project / "models" / "marts" / "duckdb_only_days.sql"
    bad.write_text(
        "select\n"
        "    occurred_at + interval 1 day as next_day,\n"
        "    list_value(event_id, user_id) as ids,\n"
        "    epoch_ms(0) as zero_ms\n"
        "from {{ ref('int_events_permitted') }}\n"
    )
    run = run_dbt(["compile", "--select", "duckdb_only_days"], snowflake_local["raw"],
                  tmp_path / "work", target="snowflake_local", project_dir=project,
                  extra_env=snowflake_local["env"], dbt_vars=NO_SHIMS)
    assert run.returncode == 0, run.output[-4000:]
    problems = [str(p) for p in check_manifest(run.target_path / "manifest.json")
                if "duckdb_only_days" in p.node]
    assert len(problems) == 3, problems
    assert any("interval" in p for p in problems)
    assert any("list_value" in p for p in problems)
    assert any("epoch_ms" in p for p in problems)


@pytest.mark.parametrize(
    "sql, fragment",
    [
        ("select interval 1 day", "unquoted interval"),
        ("select list_value(1, 2)", "list_value"),
        ("select epoch_ms(0)", "epoch_ms"),
        ("select strftime(x, '%Y') from t", "strftime"),
        ("select string_agg(x, ',') from t", "string_agg"),
        ("select timezone('UTC', x) from t", "timezone"),
        ("select sha256(x) from t", "sha256"),
        ("select from where", "does not parse"),
    ],
)
def test_dialect_check_rejects_duckdb_only_sql(sql, fragment):
    problems = check_sql(sql, "model m")
    assert problems and fragment in str(problems[0]) and "model m" in str(problems[0])


def test_dialect_check_accepts_snowflake_sql():
    sql = (
        "select try_to_timestamp_tz(x), convert_timezone('UTC', y)::timestamp_ntz, sha2(x, 256),"
        " dateadd(day, 1, z), datediff(day, a, b), x + interval '1 day',"
        " percentile_cont(0.5) within group (order by n), regexp_like(x, 'a'), listagg(x, ',')"
        " from t qualify row_number() over (partition by a order by b) = 1"
    )
    assert check_sql(sql) == []
