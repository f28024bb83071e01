"""The dashboard on a real build (dirty_demo): its read copy, every page through Streamlit's
AppTest (tables and metrics), and the page while a build holds the database."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytest.importorskip(
    "streamlit", reason="the dashboard extra is not installed: pip install -e '.[dashboard]'"
)
from streamlit.testing.v1 import AppTest  # noqa: E402

from python_utils.publish import DASHBOARD_MARTS, current_copy, publish  # noqa: E402

PROJECT = Path(__file__).resolve().parents[2]
APP = str(PROJECT / "dashboard" / "app.py")
PAGES = [
    "views/overview.py",
    "views/explorer.py",
    "views/activation.py",
    "views/experiments.py",
    "views/monitoring.py",
]


@pytest.fixture(scope="module")
def published(dirty_demo, tmp_path_factory) -> Path:
    """A copy of the demo database (the shared one stays as other files expect it) with one
    published read copy."""
    database = tmp_path_factory.mktemp("dashboard") / "segments.duckdb"
    database.write_bytes(Path(dirty_demo["db"]).read_bytes())
    publish(database, "test")
    return database


def _app(database: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(database))
    monkeypatch.delenv("SEGMENTS_DASHBOARD_SOURCE", raising=False)
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    return app


def test_the_read_copy_holds_every_mart_as_the_database_has_it(published):
    copy = current_copy(published)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["missing"] == [] and manifest["job"] == "test"
    with duckdb.connect(str(published), read_only=True) as connection:
        for mart in DASHBOARD_MARTS:
            stored = pd.read_parquet(copy / f"{mart}.parquet")
            assert len(stored) == manifest["rows"][mart]
            differ = connection.execute(
                f"select count(*) from (select * from {mart} except all "
                f"select * from read_parquet('{copy / f'{mart}.parquet'}'))"
            ).fetchall()[0][0]
            assert differ == 0, mart


def test_a_new_copy_replaces_the_current_one_and_old_ones_are_pruned(published):
    first = current_copy(published)
    for _ in range(3):
        latest = publish(published, "test")
    assert current_copy(published) == latest and int(latest.name) == int(first.name) + 3
    kept = sorted(p.name for p in latest.parent.iterdir() if p.is_dir())
    assert kept == [str(int(latest.name) - 2), str(int(latest.name) - 1), latest.name]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_an_exception(published, monkeypatch, page):
    app = _app(published, monkeypatch)
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.title and app.caption
    assert len(app.dataframe) >= 1


def assert_overview_shows(app: AppTest, database: Path) -> None:
    """The overview's persons and RFM segment sizes are the database's."""
    with duckdb.connect(str(database), read_only=True) as connection:
        persons = connection.execute(
            "select count(distinct person_id) from segment_memberships"
        ).fetchall()[0][0]
        summary = connection.execute(
            "select segment_name, member_count from segment_summary "
            "where segment_family = 'rfm' and not is_suppressed"
        ).df()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Persons in a segment"] == f"{persons:,}"
    sizes = app.dataframe[0].value  # the sizes chart's data table
    assert dict(zip(sizes["segment_name"], sizes["member_count"])) == dict(
        zip(summary["segment_name"], summary["member_count"])
    )


def test_overview_shows_the_segment_summary_numbers(published, monkeypatch):
    assert_overview_shows(_app(published, monkeypatch), published)


def test_the_page_shows_the_last_copy_while_a_build_holds_the_database(published, monkeypatch):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
                "time.sleep(120)"
            ),
            str(published),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(published), read_only=True)
        app = _app(published, monkeypatch)
        assert not app.exception and not app.warning
        assert "read copy" in " ".join(c.value for c in app.caption)
        assert len(app.dataframe) >= 1
    finally:
        holder.kill()
        holder.wait()


def test_without_a_copy_a_held_database_gives_a_message_not_an_error(
    published, tmp_path, monkeypatch
):
    database = tmp_path / "segments.duckdb"
    database.write_bytes(published.read_bytes())  # no .published folder beside this one
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
                "time.sleep(120)"
            ),
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        app = _app(database, monkeypatch)
        assert not app.exception
        assert any("a build is writing" in w.value for w in app.warning)
    finally:
        holder.kill()
        holder.wait()
    started = time.monotonic()
    app = _app(database, monkeypatch)  # the build ended: the database itself, read-only
    assert not app.exception and not app.warning and time.monotonic() - started < 60
    assert "read-only" in " ".join(c.value for c in app.caption)


def _page_marts(page: str) -> set[str]:
    """The dbt marts a page reads (the optional tables outside dbt, like the delivery log, have
    no node to depend on)."""
    import re

    from python_utils.publish import OPTIONAL_TABLES

    read = set(re.findall(r'mart\("([a-z_]+)"', (PROJECT / "dashboard" / page).read_text()))
    return read - set(OPTIONAL_TABLES)


def test_the_exposures_name_exactly_the_marts_each_page_reads():
    import yaml

    exposures = {
        e["name"]: {d[len("ref('") : -2] for d in e["depends_on"]}
        for e in yaml.safe_load(
            (PROJECT / "models" / "marts" / "_dashboard__exposures.yml").read_text()
        )["exposures"]
    }
    pages = {f"dashboard_{Path(p).stem}": _page_marts(p) for p in PAGES}
    assert {name: marts for name, marts in exposures.items() if name != "dashboard"} == pages
    assert exposures["dashboard"] == set().union(*pages.values()) == set(DASHBOARD_MARTS)


def test_the_activation_page_shows_delivery_status_and_conversions(
    published, tmp_path, monkeypatch
):
    """A delivery run's log (delivery.activation_delivery_log, written by python -m
    python_utils deliver) reaches the read copy, and the page counts each message by its latest
    attempt; the funnel has the journey's conversions (goal reached)."""
    database = tmp_path / "segments.duckdb"
    database.write_bytes(published.read_bytes())
    with duckdb.connect(str(database)) as connection:
        from python_utils.deliver import ensure_log

        ensure_log(connection)
        outbox = connection.execute(
            "select message_id from activation_outbox order by message_id"
        ).fetchall()
        assert len(outbox) >= 6
        # two messages delivered on their second attempt, three on the first, the rest not yet
        rows = (
            [(m, 1, "failed") for (m,) in outbox[:2]]
            + [(m, 2, "delivered") for (m,) in outbox[:2]]
            + [(m, 1, "delivered") for (m,) in outbox[2:5]]
        )
        connection.executemany(
            "insert into delivery.activation_delivery_log (message_id, attempt, attempted_at, "
            "status) values (?, ?, timestamp '2026-07-01 08:00:00', ?)",
            rows,
        )
        goal = connection.execute("""select journey_id, count(distinct (person_hash,
            episode_started_at)) from activation_journey_log where reason = 'goal_reached'
            group by 1 order by 2 desc limit 1""").fetchall()
    copy = publish(database, "test")
    assert json.loads((copy / "manifest.json").read_text())["rows"][
        "activation_delivery_log"
    ] == len(rows)
    monkeypatch.setenv("SEGMENTS_K_ANONYMITY", "1")  # the demo's few messages, unblanked
    app = _app(database, monkeypatch)
    app.switch_page("views/activation.py").run()
    assert not app.exception and not app.error
    status = next(d.value for d in app.dataframe if "status" in d.value.columns)
    totals = status.groupby("status")["messages"].sum()
    assert totals.to_dict() == {"delivered": 5, "not attempted": len(outbox) - 5}
    if goal:  # the demo has a journey whose goal was reached
        app.selectbox[0].set_value(goal[0][0]).run()
        funnel = next(d.value for d in app.dataframe if "stage" in d.value.columns)
        stages = dict(zip(funnel["stage"], funnel["count"]))
        assert "converted (goal reached)" in stages


def test_the_map_projects_with_tsne_too(published, monkeypatch):
    app = _app(published, monkeypatch)
    app.switch_page("views/explorer.py").run()
    assert [r.value for r in app.radio] == ["PCA"]
    app.radio[0].set_value("t-SNE").run()
    assert not app.exception and not app.error
    assert any("t-SNE" in c.value for c in app.caption)


OVERVIEW_MARTS = (
    "segment_summary",
    "segment_memberships",
    "segment_kpis_daily",
    "segment_membership_changes",
)


def test_on_snowflake_the_overview_reads_the_same_marts_live(published, tmp_path, monkeypatch):
    """SEGMENTS_DASHBOARD_SOURCE=snowflake: the page reads the marts through the Snowflake
    connector with the profiles' environment variables; here against a fakesnow server holding
    the demo's overview marts, with the same numbers as from DuckDB."""
    from dbt_harness import FakesnowServer

    with FakesnowServer(tmp_path / "fakesnow.log") as server:
        connection = server.connect(database="ANALYTICS", schema="SEGMENTS")
        cursor = connection.cursor()
        cursor.execute("create database if not exists ANALYTICS")
        cursor.execute("create schema if not exists ANALYTICS.SEGMENTS")
        with duckdb.connect(str(published), read_only=True) as duck:
            for mart in OVERVIEW_MARTS:  # the marts as a Snowflake build would hold them
                columns = duck.execute(f"describe {mart}").fetchall()
                cursor.execute(
                    f"create table {mart} ("
                    + ", ".join(f"{name} {kind}" for name, kind, *_ in columns)
                    + ")"
                )
                rows = duck.execute(f"select * from {mart}").fetchall()
                if rows:
                    cursor.executemany(
                        f"insert into {mart} values (" + ", ".join(["%s"] * len(columns)) + ")",
                        rows,
                    )
        connection.close()
        for name, value in {
            "SEGMENTS_DASHBOARD_SOURCE": "snowflake",
            "SNOWFLAKE_ACCOUNT": "fakesnow",
            "SNOWFLAKE_USER": "fake",
            "SNOWFLAKE_PASSWORD": "snow",
            "SNOWFLAKE_DATABASE": "ANALYTICS",
            "SNOWFLAKE_SCHEMA": "SEGMENTS",
            "SNOWFLAKE_HOST": "127.0.0.1",
            "SNOWFLAKE_PORT": str(server.port),
            "SNOWFLAKE_PROTOCOL": "http",
        }.items():
            monkeypatch.setenv(name, value)
        app = AppTest.from_file(APP, default_timeout=120)
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error and "Snowflake" in " ".join(c.value for c in app.caption)
    assert_overview_shows(app, published)
