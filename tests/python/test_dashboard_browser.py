"""The dashboard in a real browser: `streamlit run` on a loopback port, every page opened in
headless Chromium (Debian's /usr/bin/chromium driven by playwright), no exception or error
element, every chart drawn, a screenshot of each page. `make screenshots` writes them to
docs/screenshots/ (SEGMENTS_SCREENSHOTS_DIR) for the README; the test writes them to a temporary
folder. Skipped, with the reason, where Chromium or playwright is missing (.ci/run installs
both)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from python_utils.publish import publish

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SEGMENTS_CHROMIUM", "/usr/bin/chromium")
#: url path -> page title (dashboard/app.py)
PAGES = {
    "overview": "Overview",
    "explorer": "Segment explorer",
    "activation": "Real-time and activation",
    "experiments": "Experiments",
    "monitoring": "Monitoring and data quality",
}
# Chromium's own connections are refused by a closed network, many at a time: switch them off
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (pip install playwright; .ci/run does)",
)
pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM} (apt-get install chromium, as root; .ci/run does)",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """The dashboard served from a published copy of the test suite's demo build, or of the
    database SEGMENTS_SCREENSHOTS_DATABASE names (`make screenshots`: the `make demo` one)."""
    root = tmp_path_factory.mktemp("dashboard_browser")
    database = root / "segments.duckdb"
    source = (
        os.environ.get("SEGMENTS_SCREENSHOTS_DATABASE")
        or request.getfixturevalue("dirty_demo")["db"]
    )
    database.write_bytes(Path(source).read_bytes())
    publish(database, "test")
    port = _free_port()
    env = {**os.environ, "SEGMENTS_DUCKDB_PATH": str(database)}
    env.pop("SEGMENTS_DASHBOARD_SOURCE", None)
    log = (root / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(PROJECT / "dashboard" / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"streamlit did not start: {(root / 'streamlit.log').read_text()}")
        time.sleep(0.5)
    yield {"url": url, "root": root}
    process.terminate()
    process.wait(timeout=20)
    log.close()


def open_page(page, url: str, path: str, title: str) -> None:
    """Open a page of the app (the overview is the default, at the root) and wait until its
    script has finished: its title shows and the status widget is gone."""
    page.goto(f"{url}/{'' if path == 'overview' else path}")
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def test_every_page_renders_in_chromium_with_its_charts(server):
    shots = Path(os.environ.get("SEGMENTS_SCREENSHOTS_DIR") or server["root"] / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        for path, title in PAGES.items():
            open_page(page, server["url"], path, title)
            charts = page.locator('[data-testid="stVegaLiteChart"]')
            try:  # every page draws at least one chart
                charts.first.wait_for(timeout=30_000)
            except sync_api.TimeoutError:
                pass
            for i in range(charts.count()):  # every chart drew its marks
                charts.nth(i).locator("canvas, svg").first.wait_for(timeout=30_000)
            if page.locator('[data-testid="stException"]').count():
                problems.append(
                    f"{path}: exception "
                    f"{page.locator('[data-testid=stException]').first.inner_text()}"
                )
            alerts = page.locator('[data-testid="stAlertContentError"]')
            if alerts.count():
                problems.append(f"{path}: error {alerts.first.inner_text()}")
            if charts.count() == 0:
                problems.append(f"{path}: no chart")
            # Streamlit scrolls inside its main block: a viewport as tall as the page shows all
            # of it (and draws every table, which the grid only does when it is on screen)
            height = page.evaluate(
                "Math.max(...[...document.querySelectorAll("
                "'[data-testid=stMain], [data-testid=stMainBlockContainer]')]"
                ".map(e => e.scrollHeight), 1000)"
            )
            page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 12_000)})
            tables = page.locator('[data-testid="stDataFrame"]:visible')
            for i in range(tables.count()):  # every visible table drew its grid
                tables.nth(i).locator("canvas").first.wait_for(timeout=30_000)
            page.wait_for_timeout(500)  # the charts re-laid out at the new width
            page.screenshot(path=str(shots / f"{path}.png"), full_page=True)
            page.set_viewport_size({"width": 1400, "height": 1000})
        browser.close()
    assert not errors, errors
    assert not problems, problems
    assert sorted(p.stem for p in shots.glob("*.png")) == sorted(PAGES)


def test_every_page_shows_data_while_a_daily_build_writes_the_database(server, dirty_demo):
    """`python -m python_utils run daily` (what `make build` runs) rebuilds the served database:
    while its dbt build holds the file (no reader can open it), every page still shows the last
    read copy with no error; when the job ends it has published a newer copy."""
    import duckdb

    from dbt_harness import write_profiles
    from python_utils.publish import current_copy

    database = server["root"] / "segments.duckdb"
    before = current_copy(database)
    work = server["root"] / "daily"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(write_profiles(work / "profiles")),
        "SEGMENTS_RAW_PATH": str(dirty_demo["raw"]),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "SEGMENTS_PROJECT_DIR": str(PROJECT),
        "SEGMENTS_TARGET": "duckdb",
        "DBT_LOG_LEVEL_FILE": "none",
    }
    log = (work / "job.log").open("w")
    job = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "python_utils",
            "run",
            "daily",
            "--",
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--exclude-resource-type",
            "unit_test",
        ],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Until the build holds the database. No reader may open the file before dbt has: a
        # read-only connection at the moment dbt opens it makes dbt fail. dbt-duckdb keeps its
        # connection for the whole run, so once a node has started, opening it must fail.
        deadline = time.monotonic() + 120
        while " START " not in (work / "job.log").read_text():
            assert job.poll() is None and time.monotonic() < deadline, (
                work / "job.log"
            ).read_text()[-3000:]
            time.sleep(0.2)
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(database), read_only=True).close()
        problems = []
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path, title in PAGES.items():
                open_page(page, server["url"], path, title)
                try:  # data: the page drew a chart from the copy
                    page.locator('[data-testid="stVegaLiteChart"]').first.locator(
                        "canvas, svg"
                    ).first.wait_for(timeout=60_000)
                except sync_api.TimeoutError:
                    problems.append(f"{path}: no chart")
                body = page.locator('[data-testid="stMain"]').inner_text()
                if page.locator(
                    '[data-testid="stException"], [data-testid="stAlertContentError"]'
                ).count():
                    problems.append(f"{path}: exception or error")
                if "read copy" not in body:
                    problems.append(f"{path}: not served from the read copy")
            browser.close()
        still_writing = job.poll() is None
        assert job.wait(timeout=600) == 0, (work / "job.log").read_text()[-3000:]
    finally:
        if job.poll() is None:
            job.kill()
        log.close()
    assert not problems, problems
    assert still_writing, "the build ended before every page was checked: nothing was proven"
    assert int(current_copy(database).name) > int(before.name)
