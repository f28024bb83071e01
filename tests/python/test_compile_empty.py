"""dbt compile, docs generate and ls work on a target where nothing is built yet (a fresh DuckDB
file, a fresh fakesnow server): every compile-time read of a model's relation is guarded by
reads_real_tables and falls back to the plain query. Real dbt processes, one each."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_harness import DbtRun, FakesnowServer, generate, query, run_dbt

pytestmark = pytest.mark.dbt

SMALL_ARGS = ("--customers", "60", "--days", "7", "--seed", "3", "--dirty-rate", "0.05")
REALTIME = "model.segments.int_realtime_events"
# the constant window bound int_realtime_events writes in when its clock query can run
KNOWN_BOUND = "and checked.occurred_at > cast("


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("compile_empty") / "raw"
    generate(folder, *SMALL_ARGS)
    return folder


def _on_fresh_duckdb(command: list[str], raw: Path, work: Path) -> DbtRun:
    """One dbt command on a DuckDB file that does not exist yet (work/segments.duckdb, a folder
    of its own; dbt_harness hands it the partial parse of the previous command)."""
    assert not (work / "segments.duckdb").exists()
    run = run_dbt(command, raw, work)
    assert run.returncode == 0, run.output[-6000:]
    return run


def _model_relations(database: Path) -> list[tuple]:
    """Tables and views outside the landing schema (the on-run-start hook's views)."""
    return query(
        database,
        "select table_schema, table_name from information_schema.tables "
        "where table_schema <> 'landing'",
    )


def test_compile_docs_and_ls_succeed_on_a_fresh_duckdb_file(raw, tmp_path):
    compiled = _on_fresh_duckdb(["compile"], raw, tmp_path / "compile")
    assert _model_relations(compiled.database) == []
    nodes = compiled.manifest["nodes"]
    assert (
        sum(1 for n in nodes.values() if n["resource_type"] == "model" and n.get("compiled_code"))
        > 50
    )
    # nothing to read the stream clock from: the plain query, without a constant bound
    assert "stg_app__events" in nodes[REALTIME]["compiled_code"]
    assert KNOWN_BOUND not in nodes[REALTIME]["compiled_code"]

    docs = _on_fresh_duckdb(["docs", "generate"], raw, tmp_path / "docs")
    assert (docs.target_path / "catalog.json").exists()
    assert _model_relations(docs.database) == []

    listed = _on_fresh_duckdb(
        ["ls", "--resource-type", "model", "--output", "name"], raw, tmp_path / "ls"
    )
    assert "int_realtime_events" in listed.output.split()
    assert not listed.database.exists() or _model_relations(listed.database) == []


def test_the_constant_bound_is_written_once_its_table_exists(raw, tmp_path):
    """The guard is not always false: with stg_app__events built, compile reads the clock."""
    work = tmp_path / "work"
    built = run_dbt(["run", "--select", "+stg_app__events"], raw, work)
    assert built.returncode == 0, built.output[-6000:]
    compiled = run_dbt(["compile", "--select", "int_realtime_events"], raw, work)
    assert compiled.returncode == 0, compiled.output[-6000:]
    assert KNOWN_BOUND in compiled.manifest["nodes"][REALTIME]["compiled_code"]


def test_compile_succeeds_on_a_fresh_fakesnow_server(raw, tmp_path):
    with FakesnowServer(tmp_path / "fakesnow.log") as server:
        run = run_dbt(
            ["compile"],
            raw,
            tmp_path / "snowflake",
            target="snowflake_local",
            extra_env={"FAKESNOW_PORT": str(server.port)},
        )
    assert run.returncode == 0, run.output[-6000:]
    assert KNOWN_BOUND not in run.manifest["nodes"][REALTIME]["compiled_code"]
