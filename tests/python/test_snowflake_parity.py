"""Snowflake parity, offline: the project builds and tests on a Snowflake-compatible server
(fakesnow on loopback, target snowflake_local) with the same results as on DuckDB, and the
SQL that real Snowflake would receive parses with a strict Snowflake grammar."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dbt_harness import NO_TESTS, PROJECT_DIR, FakesnowServer, generate, query, run_dbt
from python_utils.snowflake_dialect import check_manifest, check_sql
from python_utils.warehouse import load_raw_folder

SMALL_ARGS = ("--customers", "120", "--days", "14", "--seed", "5", "--dirty-rate", "0.05")
NO_SHIMS = {"fakesnow_shims": False}
NO_LINEAGE_RAW = "RAW_NO_LINEAGE"
READER = "BI_READER"

COMPARED_MODELS = [
    "stg_app__events",
    "stg_app__events_quarantine",
    "stg_shop__orders",
    "stg_shop__orders_quarantine",
    "stg_shop__order_items",
    "stg_shop__order_items_quarantine",
    "stg_crm__customers",
    "stg_crm__customers_quarantine",
    "stg_privacy__consents",
    "stg_privacy__consents_quarantine",
    "int_events_permitted",
    "int_orders_permitted",
    "int_customers_permitted",
    "int_privacy_exclusions",
    "int_person_consents",
    "int_identity_customer_links",
    "int_person_customers",
    "stg_shop__outlier_fences",
    "stg_app__outlier_fences",
    "data_quality_profile",
]


QUOTED = {"check": '"check"', "value": '"value"'}


@pytest.fixture(scope="module")
def snowflake_local(tmp_path_factory):
    """A fakesnow server holding the small dirty dataset as raw tables, built with dbt."""
    root = tmp_path_factory.mktemp("snowflake_local")
    raw = root / "raw"
    generate(raw, *SMALL_ARGS, "--truth-out", str(root / "truth"))
    # the models only: the DuckDB side is what the emulator's rows are compared with (its data
    # tests run on DuckDB in every other suite)
    duckdb_run = run_dbt(["build", *NO_TESTS], raw, root / "duckdb")
    assert duckdb_run.returncode == 0, duckdb_run.output[-4000:]
    python_models = sorted(
        node["name"]
        for node in duckdb_run.manifest["nodes"].values()
        if node["resource_type"] == "model" and node["language"] == "python"
    )
    with FakesnowServer(root / "fakesnow.log") as server:
        with server.connect() as connection:
            cursor = connection.cursor()
            cursor.execute("create database if not exists SEGMENTS")
            # with the loader's lineage columns (_source_file, _source_row), as load-snowflake
            # writes them, and once more without (the landing views derive a row identity)
            load_raw_folder(raw, cursor.execute, cursor.executemany, "SEGMENTS.RAW")
            load_raw_folder(
                raw, cursor.execute, cursor.executemany, f"SEGMENTS.{NO_LINEAGE_RAW}", lineage=False
            )
            # fakesnow cannot run Python models (Snowflake runs them as stored procedures;
            # the Snowpark harness below proves them). Their DuckDB output stands in, so every
            # SQL model downstream of them still builds and is tested on the emulator.
            copy_tables(duckdb_run.database, python_models, cursor, "SEGMENTS.ANALYTICS")
        env = {"FAKESNOW_PORT": str(server.port)}
        exclude = ["--exclude", *python_models] if python_models else []
        snowflake_run = run_dbt(
            ["build", *exclude],
            raw,
            root / "snowflake",
            target="snowflake_local",
            extra_env=env,
            timeout=1200,
        )
        yield {
            "server": server,
            "raw": raw,
            "root": root,
            "env": env,
            "snowflake": snowflake_run,
            "duckdb": duckdb_run,
            "python_models": python_models,
        }


def copy_tables(duckdb_file: Path, tables: list[str], cursor, qualified_schema: str) -> None:
    """Create each DuckDB table in the warehouse schema with the same columns and rows."""
    import duckdb

    types = {
        "BIGINT": "number",
        "INTEGER": "number",
        "DOUBLE": "float",
        "FLOAT": "float",
        "BOOLEAN": "boolean",
    }
    cursor.execute(f"create schema if not exists {qualified_schema}")
    with duckdb.connect(str(duckdb_file), read_only=True) as connection:
        for table in tables:
            columns = connection.execute(
                "select column_name, data_type from information_schema.columns "
                f"where table_name = '{table}' order by ordinal_position"
            ).fetchall()
            rows = connection.execute(f"select * from main.{table}").fetchall()
            definition = ", ".join(f"{name} {types.get(kind, 'varchar')}" for name, kind in columns)
            cursor.execute(f"create or replace table {qualified_schema}.{table} ({definition})")
            placeholders = ", ".join(["%s"] * len(columns))
            for start in range(0, len(rows), 5000):
                cursor.executemany(
                    f"insert into {qualified_schema}.{table} values ({placeholders})",
                    rows[start : start + 5000],
                )


def test_every_model_and_test_passes_on_the_snowflake_local_target(snowflake_local):
    run = snowflake_local["snowflake"]
    assert run.returncode == 0, run.output[-6000:]
    assert run.failures() == []
    # reader_role null: the grants config is empty, so dbt-snowflake issues no grant or revoke
    assert "Emulator DCL" not in run.output
    kinds = {r["unique_id"].split(".")[0] for r in run.results()}
    assert {"model", "test", "unit_test"} <= kinds
    duckdb_nodes = {r["unique_id"] for r in snowflake_local["duckdb"].results()}
    snowflake_nodes = {r["unique_id"] for r in run.results()}
    # the same SQL models ran on both engines (Python models run under Snowpark instead)
    python_models = {f"model.segments.{name}" for name in snowflake_local["python_models"]}
    assert {n for n in duckdb_nodes if n.startswith("model.")} - python_models == {
        n for n in snowflake_nodes if n.startswith("model.")
    }


def test_sql_cluster_scoring_equals_the_python_model_on_snowflake(snowflake_local):
    """customer_cluster_scores, built in SQL on the emulator from the stored scaler and
    centroids, places every person exactly where the Python model did (the singular data test
    is not selected there, since customer_clusters is a Python model)."""
    with snowflake_local["server"].connect() as connection:
        persons, disagreements = (
            connection.cursor()
            .execute("""
            select count(*), sum(case when coalesce(py.cluster_id, -99)
                                          != coalesce(sql_scores.cluster_id, -99) then 1 else 0 end)
            from SEGMENTS.ANALYTICS.customer_clusters as py
            full outer join SEGMENTS.ANALYTICS.customer_cluster_scores as sql_scores
                on py.person_id = sql_scores.person_id""")
            .fetchall()[0]
        )
    assert persons > 100 and disagreements == 0


@pytest.mark.parametrize("model", COMPARED_MODELS)
def test_snowflake_and_duckdb_give_the_same_rows(snowflake_local, model):
    """Row counts and reason counts agree between the engines for every compared model."""
    duck = snowflake_local["duckdb"].database
    columns = [
        c
        for (c,) in query(
            duck,
            "select column_name from information_schema.columns "
            f"where table_name = '{model}' and table_schema = 'main'",
        )
    ]
    group = next(
        (
            c
            for c in (
                "reason",
                "exclusion_reason",
                "rejection_reason",
                "purpose",
                "status",
                "event_type",
            )
            if c in columns
        ),
        None,
    )
    select = f"select {group or 'null'} as k, count(*) from {{}}.{model} group by 1"
    duck_rows = {str(k): n for k, n in query(duck, select.format("main"))}
    with snowflake_local["server"].connect() as connection:
        snow_rows = {
            str(k): n
            for k, n in connection.cursor().execute(select.format("SEGMENTS.ANALYTICS")).fetchall()
        }
    assert snow_rows == duck_rows
    assert sum(duck_rows.values()) > 0


def test_snowflake_and_duckdb_resolve_the_same_persons(snowflake_local):
    """The identity graph, CRM record links included, gives every id the same person on both
    engines, and every person the same customer ids."""
    duck = snowflake_local["duckdb"].database
    queries = [
        "select id_type, id_value, person_id, customer_id from {}.int_identity_resolved",
        "select person_id, customer_count, customer_ids from {}.int_persons",
    ]
    with snowflake_local["server"].connect() as connection:
        cursor = connection.cursor()
        for sql in queries:
            duck_rows = {tuple(r) for r in query(duck, sql.format("main"))}
            snow_rows = {
                tuple(r) for r in cursor.execute(sql.format("SEGMENTS.ANALYTICS")).fetchall()
            }
            assert snow_rows == duck_rows, sql
    linked = query(
        duck, "select count(*) from int_identity_customer_links where rejection_reason is null"
    )[0][0]
    assert linked > 0  # the generator's CRM twins are linked


def test_observation_window_agrees(snowflake_local):
    duck = query(
        snowflake_local["duckdb"].database,
        "select as_of_date, observation_end_at from stg_observation_window",
    )
    with snowflake_local["server"].connect() as connection:
        snow = (
            connection.cursor()
            .execute(
                "select as_of_date, observation_end_at from SEGMENTS.ANALYTICS.stg_observation_window"
            )
            .fetchall()
        )
    assert [tuple(r) for r in snow] == duck


def test_compiled_project_parses_as_snowflake_sql(snowflake_local):
    """What real Snowflake receives (emulator shims off) passes the strict dialect check."""
    root = snowflake_local["root"]
    run = run_dbt(
        ["compile"],
        snowflake_local["raw"],
        root / "compile",
        target="snowflake_local",
        extra_env=snowflake_local["env"],
        dbt_vars=NO_SHIMS,
    )
    assert run.returncode == 0, run.output[-4000:]
    problems = check_manifest(run.target_path / "manifest.json")
    assert [str(p) for p in problems] == []
    models = [n for n in run.manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 40
    # the shims are really off: the real Snowflake timestamp parser is what was checked
    events = next(n for n in models if n["name"] == "base_app__events")
    assert "try_to_timestamp_tz" in events["compiled_code"]


def test_a_duckdb_only_model_fails_the_check_with_its_name(python_model_manifest):
    """A model written in DuckDB's dialect, added to a copy of the project (compiled in the
    fixture below, with the Python models), is caught by the check, named."""
    problems = [
        str(p)
        for p in check_manifest(python_model_manifest["manifest_path"])
        if "duckdb_only_days" in p.node
    ]
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


# --- dbt Python models on Snowflake's API (Snowpark local testing) --------------------------

SNOWPARK_PYTHON = PROJECT_DIR / ".venv-snowpark" / "bin" / "python"
SNOWPARK_RUNNER = PROJECT_DIR / "tests" / "snowpark" / "run_python_model.py"

# A probe model written the way every Python model of the project must be: portable reads,
# lower-case columns inside, upper-case columns out on Snowflake, python_utils importable.
PROBE_MODEL = """
def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas"])
    import python_utils

    relation = dbt.ref("raw_row_accounting")
    on_snowflake = hasattr(relation, "to_pandas")
    frame = relation.to_pandas() if on_snowflake else relation.df()
    frame.columns = [c.lower() for c in frame.columns]
    out = frame.groupby("source_table", as_index=False)["row_count"].sum()
    out["package"] = python_utils.__name__
    if on_snowflake:
        out.columns = [c.upper() for c in out.columns]
    return out
"""


def _copy_project(destination: Path) -> Path:
    destination.mkdir(parents=True)
    for item in ("dbt_project.yml", "models", "macros", "tests", "analyses", "docs", "seeds"):
        source = PROJECT_DIR / item
        if source.is_dir():
            shutil.copytree(
                source, destination / item, ignore=shutil.ignore_patterns("python", "snowpark")
            )
        elif source.exists():
            shutil.copy(source, destination / item)
    return destination


def _run_on_snowpark(node: dict, manifest: dict, duckdb_file: Path, work: Path) -> dict:
    """Export the model's inputs from the DuckDB build and run it under Snowpark."""
    import json
    import subprocess

    import duckdb

    work.mkdir(parents=True, exist_ok=True)
    inputs = {}
    with duckdb.connect(str(duckdb_file), read_only=True) as connection:
        for parent_id in node["depends_on"]["nodes"]:
            parent = manifest["nodes"].get(parent_id) or manifest["sources"][parent_id]
            name = parent.get("alias") or parent["name"]
            parquet = work / f"{name}.parquet"
            connection.execute(f"copy (select * from main.{name}) to '{parquet}' (format parquet)")
            inputs[f"{parent['database']}.{parent['schema']}.{name}"] = str(parquet)
        if node["config"]["materialized"] == "incremental":  # its own history: dbt.this
            parquet = work / f"{node['alias']}__this.parquet"
            connection.execute(
                f"copy (select * from main.{node['alias']}) to '{parquet}' (format parquet)"
            )
            inputs[f"{node['database']}.{node['schema']}.{node['alias']}"] = str(parquet)
    job = work / f"{node['name']}.json"
    job.write_text(
        json.dumps(
            {
                "code": node["compiled_code"],
                "target": f"{node['database']}.{node['schema']}.{node['alias']}",
                "inputs": inputs,
                "sys_path": [str(PROJECT_DIR)],
            }
        )
    )
    proc = subprocess.run(
        [str(SNOWPARK_PYTHON), str(SNOWPARK_RUNNER), str(job)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"{node['name']} failed on Snowpark:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


DUCKDB_ONLY_MODEL = (
    "select\n"
    "    occurred_at + interval 1 day as next_day,\n"
    "    list_value(event_id, user_id) as ids,\n"
    "    epoch_ms(0) as zero_ms\n"
    "from {{ ref('int_events_permitted') }}\n"
)


@pytest.fixture(scope="module")
def python_model_manifest(snowflake_local, tmp_path_factory):
    """The project plus the probe model and a DuckDB-only SQL model, compiled for Snowflake
    (shims off): every Python model, the probe and the DuckDB-only model, in one dbt compile."""
    root = tmp_path_factory.mktemp("python_models")
    project = _copy_project(root / "project")
    (project / "models" / "marts" / "monitoring" / "snowpark_probe.py").write_text(PROBE_MODEL)
    (project / "models" / "marts" / "duckdb_only_days.sql").write_text(DUCKDB_ONLY_MODEL)
    selected = [*snowflake_local["python_models"], "snowpark_probe", "duckdb_only_days"]
    run = run_dbt(
        ["compile", "--select", *selected],
        snowflake_local["raw"],
        root / "work",
        target="snowflake_local",
        project_dir=project,
        extra_env=snowflake_local["env"],
        dbt_vars=NO_SHIMS,
    )
    assert run.returncode == 0, run.output[-4000:]
    return {
        "manifest": run.manifest,
        "manifest_path": run.target_path / "manifest.json",
        "root": root,
    }


def test_snowpark_environment_has_pandas_2():
    assert SNOWPARK_PYTHON.exists(), "run `make setup-dev` to create .venv-snowpark"
    import subprocess

    version = subprocess.run(
        [str(SNOWPARK_PYTHON), "-c", "import pandas; print(pandas.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version.startswith("2.")


def test_every_python_model_runs_on_snowpark(snowflake_local, python_model_manifest):
    """Each dbt Python model (the probe included) runs from the code dbt-snowflake generates,
    reading with session.table / to_pandas and writing upper-case columns."""
    manifest, root = python_model_manifest["manifest"], python_model_manifest["root"]
    python_models = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["language"] == "python"
    ]
    assert "snowpark_probe" in {n["name"] for n in python_models}
    for node in python_models:
        summary = _run_on_snowpark(
            node, manifest, snowflake_local["duckdb"].database, root / "snowpark" / node["name"]
        )
        assert summary["row_count"] > 0, summary
        assert all(c == c.upper() for c in summary["columns"]), summary
        assert summary["pandas_version"].startswith("2.")
        if node["name"] == "snowpark_probe":
            expected = query(
                snowflake_local["duckdb"].database,
                "select count(distinct source_table) from raw_row_accounting",
            )[0][0]
            assert summary["row_count"] == expected
            assert summary["columns"] == ["SOURCE_TABLE", "ROW_COUNT", "PACKAGE"]


def test_snowflake_local_reads_contract_files_when_no_raw_table_exists(snowflake_local, tmp_path):
    """Emulator-only fallback: with no raw tables, `dbt build --target snowflake_local` reads
    SEGMENTS_RAW_PATH like the DuckDB target, with the same accepted and quarantined rows."""
    from test_contract_inputs import EVENTS, ORDERS, STAGING_ONLY, _write

    raw = tmp_path / "raw"
    _write(raw, "orders", ORDERS, "csv")
    _write(raw, "events", EVENTS, "parquet")
    dbt_vars = {"raw_schema": "NO_RAW_TABLES", "as_of": "2026-03-07"}
    # staging reads the files (the marts are built by the fixture, from tables)
    run = run_dbt(
        STAGING_ONLY,
        raw,
        tmp_path / "work",
        target="snowflake_local",
        extra_env={**snowflake_local["env"], "FAKESNOW_SCHEMA": "FROM_FILES"},
        dbt_vars=dbt_vars,
    )
    assert run.returncode == 0, run.output[-4000:]
    assert "file(s) in" in run.output
    with snowflake_local["server"].connect(schema="FROM_FILES") as connection:
        cursor = connection.cursor()
        orders = cursor.execute(
            "select order_id from SEGMENTS.FROM_FILES.stg_shop__orders order by 1"
        ).fetchall()
        reasons = dict(
            cursor.execute(
                "select reason, count(*) from SEGMENTS.FROM_FILES.stg_shop__orders_quarantine "
                "group by 1"
            ).fetchall()
        )
        events = cursor.execute(
            "select count(*) from SEGMENTS.FROM_FILES.stg_app__events"
        ).fetchone()[0]
    assert [o for (o,) in orders] == ["o1", "o2", "o3"]
    assert reasons == {"invalid_status": 2, "missing_primary_key": 1}
    assert events == 3


def test_a_deletion_leaves_no_row_downstream_of_staging_on_snowflake(snowflake_local):
    """Every id a deletion request covers (the requester, its devices, the users of a requesting
    device and their devices), and the person id it led, is in no relation downstream of staging
    on the emulator, logs included; staging itself still holds them (the check can fail)."""
    duck = snowflake_local["duckdb"]
    covered = {
        value
        for (value,) in query(
            duck.database,
            """
        with requested as (select subject_id from stg_privacy__deletion_requests),
        users as (
            select subject_id as user_id from requested
            union select user_id from stg_app__events
            where anonymous_id in (select subject_id from requested) and user_id is not null
        )
        select subject_id from requested
        union select user_id from users
        union select anonymous_id from stg_app__events
        where user_id in (select user_id from users) and anonymous_id is not null""",
        )
    }
    assert covered, "the small demo has a deletion request"
    import hashlib

    person_ids = {
        hashlib.md5((prefix + value).encode()).hexdigest()
        for value in covered
        for prefix in ("0", "1")
    }
    values = ", ".join(f"'{v}'" for v in sorted(covered | person_ids))
    relations = sorted(
        node["name"]
        for node in duck.manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == "segments"
        and node["config"]["materialized"] != "ephemeral"
        and node["original_file_path"].startswith(("models/intermediate", "models/marts"))
    )
    assert len(relations) > 40
    found = {}
    with snowflake_local["server"].connect() as connection:
        cursor = connection.cursor()
        staged = cursor.execute(
            "select count(*) from SEGMENTS.ANALYTICS.stg_app__events "
            f"where anonymous_id in ({values}) or user_id in ({values})"
        ).fetchall()[0][0]
        assert staged > 0
        for relation in relations:
            columns = [
                c
                for (c,) in query(
                    duck.database,
                    "select column_name from information_schema.columns "
                    f"where table_schema = 'main' and table_name = '{relation}'",
                )
            ]
            # monitoring_alerts' contract columns "check" and "value" are quoted (reserved words)
            condition = " or ".join(
                f"cast({QUOTED.get(c, c)} as varchar) in ({values})" for c in columns
            )
            count = cursor.execute(
                f"select count(*) from SEGMENTS.ANALYTICS.{relation} where {condition}"
            ).fetchall()[0][0]
            if count:
                found[relation] = count
    assert found == {}


# --- stable row identity on warehouse tables ---------------------------------------------------

LINEAGE_MODELS = {
    "stg_app__events": "event_id",
    "stg_shop__orders": "order_id",
    "stg_crm__customers": "customer_id",
    "stg_privacy__consents": "subject_id, purpose",
    "stg_app__events_quarantine": "event_id, reason",
}


@pytest.mark.parametrize("model", sorted(LINEAGE_MODELS))
def test_loader_lineage_keeps_the_same_raw_rows_as_duckdb(snowflake_local, model):
    """With the loader's _source_file/_source_row, replays that tie on time keep the same raw
    row on both engines: the accepted (and quarantined) rows are the same rows, lineage and all."""
    source = (
        "source_file, source_row" if model.endswith("_quarantine") else "_source_file, _source_row"
    )
    select = f"select {LINEAGE_MODELS[model]}, {source} from {{}}.{model}"
    duck = set(query(snowflake_local["duckdb"].database, select.format("main")))
    with snowflake_local["server"].connect() as connection:
        snow = {
            tuple(r)
            for r in connection.cursor().execute(select.format("SEGMENTS.ANALYTICS")).fetchall()
        }
    assert len(duck) > 10 and all(row[-1] is not None for row in duck)
    assert snow == duck


@pytest.fixture(scope="module")
def without_loader_lineage(snowflake_local):
    """Staging built from raw tables without loader columns (plain inserts, COPY INTO without
    metadata columns): the landing views identify rows by their content."""
    root = snowflake_local["root"]
    dbt_vars = {"raw_schema": NO_LINEAGE_RAW, "landing_schema": "LANDING_NO_LINEAGE"}
    # the row-accounting tests also read intermediate models, which are not built here
    # (with the seeds staging reads)
    run = run_dbt(
        [
            "build",
            "--select",
            "staging",
            "resource_type:seed",
            "--exclude",
            "test_name:rows_accounted_for",
        ],
        snowflake_local["raw"],
        root / "no_lineage",
        target="snowflake_local",
        extra_env={**snowflake_local["env"], "FAKESNOW_SCHEMA": "NO_LINEAGE"},
        dbt_vars=dbt_vars,
    )
    return run


def test_without_loader_lineage_the_key_tests_pass_on_snowflake(without_loader_lineage):
    run = without_loader_lineage
    assert run.returncode == 0, run.output[-4000:]
    assert run.failures() == []
    key_tests = [
        test
        for test in (r["unique_id"] for r in run.results())
        if "unique_combination_base_" in test and "_source_row" in test
    ]
    # every base model's raw-row key is tested on the emulator, not only on DuckDB
    assert len(key_tests) >= 9, key_tests


@pytest.mark.parametrize(
    "model",
    ["stg_app__events", "stg_app__events_quarantine", "stg_shop__orders", "stg_privacy__consents"],
)
def test_without_loader_lineage_the_same_rows_are_accepted(
    snowflake_local, without_loader_lineage, model
):
    """Ties between identical replays are interchangeable: the verdicts equal DuckDB's."""
    assert without_loader_lineage.returncode == 0
    key = LINEAGE_MODELS.get(model, "order_id")
    select = f"select {key}, count(*) from {{}}.{model} group by all"
    duck = set(query(snowflake_local["duckdb"].database, select.format("main")))
    with snowflake_local["server"].connect() as connection:
        snow = {
            tuple(r)
            for r in connection.cursor().execute(select.format("SEGMENTS.NO_LINEAGE")).fetchall()
        }
    assert len(duck) > 10 and snow == duck


def test_content_row_identity_is_unique_and_stable_when_rows_are_added(
    snowflake_local, without_loader_lineage
):
    """Exact duplicate rows get distinct identities, and a row keeps its identity when rows
    (here: one more copy of a duplicated row) are added to the raw table: an incremental model
    that stored a row's identity never meets another row under it."""
    assert without_loader_lineage.returncode == 0
    view = "SEGMENTS.LANDING_NO_LINEAGE.events"
    with snowflake_local["server"].connect() as connection:
        cursor = connection.cursor()
        raw_rows, distinct_rows = cursor.execute(
            f"select count(*), (select count(*) from (select distinct * from "
            f"SEGMENTS.{NO_LINEAGE_RAW}.events)) from SEGMENTS.{NO_LINEAGE_RAW}.events"
        ).fetchone()
        assert raw_rows > distinct_rows  # the dirty data holds exact duplicates
        before = {
            tuple(r) for r in cursor.execute(f"select event_id, _source_row from {view}").fetchall()
        }
        assert len(before) == raw_rows and all(row is not None for _, row in before)
        raw = f"SEGMENTS.{NO_LINEAGE_RAW}.events"
        cursor.execute(f"create or replace table {raw}_before as select * from {raw}")
        try:
            cursor.execute(
                f"insert into {raw} select * from {raw} qualify count(*) over "
                "(partition by event_id) > 1 order by event_id limit 1"
            )
            after = {
                tuple(r)
                for r in cursor.execute(f"select event_id, _source_row from {view}").fetchall()
            }
        finally:  # the raw table as it was, for any later reader
            cursor.execute(f"create or replace table {raw} as select * from {raw}_before")
            cursor.execute(f"drop table {raw}_before")
    assert before < after and len(after) == len(before) + 1


# --- grants and schemas by layer -------------------------------------------------------------

LAYERS = ("staging", "intermediate", "marts")


def layer_and_grant_problems(manifest: dict, schemas: dict, reader: str | None) -> list[str]:
    """Every mart (models/marts/**) is in schemas['marts'] with select granted to the reader
    (no grant when reader is None); every other node has no grant and staging and intermediate
    models are in their layer's schema; the landing sources are in none of those schemas."""
    problems = []
    marts = []
    for node in manifest["nodes"].values():
        if node["package_name"] != "segments" or node["resource_type"] not in ("model", "seed"):
            continue
        grants = node["config"].get("grants") or {}
        layer = (
            Path(node["original_file_path"]).parts[1]
            if node["resource_type"] == "model"
            else "seeds"
        )
        expected_grants = {"select": [reader]} if layer == "marts" and reader else {}
        if grants != expected_grants:
            problems.append(f"{node['name']} ({layer}): grants {grants}")
        if layer in schemas and node["schema"].lower() != schemas[layer].lower():
            problems.append(f"{node['name']} ({layer}): schema {node['schema']}")
        if layer == "marts":
            marts.append(node)
    kinds = {(n["language"], n["config"]["materialized"]) for n in marts}
    if (
        not {
            ("python", "table"),
            ("python", "incremental"),
            ("sql", "incremental"),
            ("sql", "view"),
            ("sql", "table"),
        }
        <= kinds
    ):
        problems.append(f"marts do not cover every kind of model: {kinds}")
    for source in manifest["sources"].values():
        if source["package_name"] == "segments":
            if source["schema"].lower() != schemas["landing"].lower():
                problems.append(f"source {source['name']}: schema {source['schema']}")
            if source["config"].get("grants"):
                problems.append(f"source {source['name']}: grants")
    if schemas["landing"].lower() in {schemas[layer].lower() for layer in LAYERS}:
        problems.append("the landing schema is a model layer's schema")
    return problems


def test_real_snowflake_targets_put_layers_in_their_schemas_and_grant_only_marts(tmp_path):
    """dbt parse for the real `snowflake` target (no account needed): layer schemas are on by
    default there, and the reader role is granted on the marts alone."""
    run = run_dbt(
        ["parse"], tmp_path / "raw", tmp_path, target="snowflake", dbt_vars={"reader_role": READER}
    )
    assert run.returncode == 0, run.output[-4000:]
    schemas = {"landing": "landing", **{layer: layer for layer in LAYERS}}
    assert layer_and_grant_problems(run.manifest, schemas, READER) == []


@pytest.mark.parametrize("target, schema", [("duckdb", "main"), ("snowflake_local", "ANALYTICS")])
def test_duckdb_and_the_emulator_keep_every_model_in_the_target_schema(tmp_path, target, schema):
    """By default nothing moves where outside checks and the parity tests read the marts,
    and no grant is configured (reader_role null)."""
    run = run_dbt(["parse"], tmp_path / "raw", tmp_path, target=target)
    assert run.returncode == 0, run.output[-4000:]
    schemas = {"landing": "landing", **{layer: schema for layer in LAYERS}}
    assert layer_and_grant_problems(run.manifest, schemas, None) == []


def test_grants_are_issued_for_marts_only_in_a_layered_build(snowflake_local):
    """A build on the emulator with layer schemas and a reader role: every model lands in its
    layer's schema and the landing views in theirs, and dbt-snowflake's materializations issue
    `grant select ... to BI_READER` for each mart built and for nothing else. fakesnow cannot
    parse GRANT, so the emulator shim logs each statement instead of executing it."""
    schemas = {
        "landing": "G_LANDING",
        "staging": "G_STAGING",
        "intermediate": "G_INTERMEDIATE",
        "marts": "G_MARTS",
    }
    dbt_vars = {
        "layer_schemas_enabled": True,
        "reader_role": READER,
        "landing_schema": schemas["landing"],
        "layer_schemas": {layer: schemas[layer] for layer in LAYERS},
    }
    # models only: grants are issued by the materializations (the fixture's build tests)
    run = run_dbt(
        ["build", "--select", "+sessions", "+customer_rfm", *NO_TESTS],
        snowflake_local["raw"],
        snowflake_local["root"] / "layered",
        target="snowflake_local",
        extra_env={**snowflake_local["env"], "FAKESNOW_SCHEMA": "LAYERED"},
        dbt_vars=dbt_vars,
    )
    assert run.returncode == 0, run.output[-6000:]
    assert run.failures() == []
    assert layer_and_grant_problems(run.manifest, schemas, READER) == []
    grants = sorted(
        line.split("Emulator DCL: ", 1)[1].strip()
        for line in run.output.splitlines()
        if "Emulator DCL: " in line
    )
    built = {
        r["unique_id"].split(".")[-1] for r in run.results() if r["unique_id"].startswith("model.")
    }
    marts = sorted(
        n["name"]
        for n in run.manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["name"] in built
        and n["original_file_path"].startswith("models/marts/")
    )
    assert marts == ["customer_rfm", "sessions"]
    assert grants == [
        f"grant select on SEGMENTS.{schemas['marts']}.{name} to {READER}" for name in marts
    ]
    with snowflake_local["server"].connect() as connection:
        placed = {
            (schema.upper(), name.lower())
            for schema, name in connection.cursor()
            .execute(
                "select table_schema, table_name from SEGMENTS.information_schema.tables "
                "union all select table_schema, table_name from SEGMENTS.information_schema.views"
            )
            .fetchall()
        }
    for node in run.manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in built:
            layer = Path(node["original_file_path"]).parts[1]
            assert (schemas[layer], node["name"]) in placed, node["name"]
    assert (schemas["landing"], "events") in placed
