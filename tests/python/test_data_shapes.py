"""Real data, first run: the full build with its tests is green on every data shape.

One dbt build per shape of python_utils.shapes.MATRIX (docs/data-shapes.md): complete data,
orders only, orders with items but no events, events only, CRM only, a lapsed orders history,
one week, one country, ten customers. Each build must build every model of the manifest (none
skipped or errored) and pass every data test, except that a test tagged ``business_gate`` may
fail (a business gate judges the data, not the code, and sits on a leaf model); and the SQL
cluster scoring (customer_cluster_scores) must place every person where the Python assignment
(customer_clusters) does.

Cost: each build is one full `dbt build` on a few hundred customers (see BASE_GENERATOR in
python_utils/shapes.py) with the profile's 2 threads (1 and 4 were slower on 2 cores). The unit
tests are left out of these builds (they check logic on fixed inputs, not data: the session
build of conftest.py runs them), and OpenMP runs one thread: on data this small scikit-learn's
k-means otherwise spends most of segment_model_runs waiting for its own threads on a busy
machine (python_utils.supervised limits itself the same way below 100,000 rows).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from dbt_harness import generate, is_planted_warning, query, run_dbt

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from python_utils.shapes import (  # noqa: E402
    MATRIX,
    failing_rows,
    first_line,
    manifest_nodes,
    node_tags,
)

pytestmark = pytest.mark.dbt

BUSINESS_GATE = "business_gate"
#: a business gate may fail (or warn); an error (broken SQL) or a skip is never allowed
GATE_OUTCOMES = ("fail", "warn")


def _problems(run) -> list[str]:
    """Every model that did not build and every non-gate test that did not pass; failures and
    errors first (with a failed test's first rows), then what was skipped because of them."""
    status = {r["unique_id"]: r for r in run.results()}
    broken, skipped = [], []
    for uid in sorted(manifest_nodes(run.manifest, ("model",))):
        result = status.get(uid, {})
        state = result.get("status", "not run")
        if state != "success":
            (skipped if state in ("skipped", "not run") else broken).append(
                f"model {uid}: {state} {first_line(result.get('message'))}"
            )
    for uid, node in sorted(manifest_nodes(run.manifest, ("test",)).items()):
        result = status.get(uid, {})
        state = result.get("status", "not run")
        if state == "pass" or (state in GATE_OUTCOMES and BUSINESS_GATE in node_tags(node)):
            continue
        if is_planted_warning({"unique_id": uid, "status": state}):
            continue
        if state in ("skipped", "not run"):
            skipped.append(f"test {uid}: {state}")
            continue
        rows = failing_rows(run.database, result.get("compiled_code")) if state == "fail" else ""
        broken.append(
            f"test {uid}: {state} {first_line(result.get('message'))}"
            + (f" [{rows}]" if rows else "")
        )
    return broken + skipped


def _cluster_scoring_mismatches(database: Path) -> tuple[int, int, list[tuple]]:
    """Persons whose SQL-scored cluster differs from (or is missing in) the Python assignment."""
    persons, mismatched = query(
        database,
        """
        select
            count(*),
            count(*) filter (where python.person_id is null or sql_scored.person_id is null
                             or python.cluster_id is distinct from sql_scored.cluster_id)
        from customer_clusters as python
        full outer join customer_cluster_scores as sql_scored
            on python.person_id = sql_scored.person_id
    """,
    )[0]
    examples = query(
        database,
        """
        select coalesce(python.person_id, sql_scored.person_id), python.cluster_id,
            sql_scored.cluster_id
        from customer_clusters as python
        full outer join customer_cluster_scores as sql_scored
            on python.person_id = sql_scored.person_id
        where python.cluster_id is distinct from sql_scored.cluster_id
        order by 1
        limit 5
    """,
    )
    return persons, mismatched, examples


#: shape -> variables that make a binding business gate fail on it: the build must still build
#: every model (the gate sits on a leaf) and fail only on the gate, saying what to change
GATE_FAILURE_VARS = {"complete": {"segment_max_share": 0.2}}


@pytest.mark.parametrize("shape", MATRIX, ids=[shape.name for shape in MATRIX])
def test_full_build_is_green(shape, tmp_path):
    raw = tmp_path / "raw"
    generate(raw, *shape.generate_args())
    started = time.perf_counter()
    gate_vars = GATE_FAILURE_VARS.get(shape.name, {})
    run = run_dbt(
        ["build", "--exclude", "test_type:unit"],
        raw,
        tmp_path / "work",
        dbt_vars={**shape.dbt_vars, **gate_vars} or None,
        extra_env={"OMP_NUM_THREADS": "1"},
    )
    seconds = time.perf_counter() - started
    print(f"{shape.name}: dbt build {seconds:.1f} s")
    assert run.manifest and run.results(), f"dbt produced no results:\n{run.output[-4000:]}"

    problems = _problems(run)
    built = {r["unique_id"] for r in run.results() if r["status"] == "success"}
    if {"model.segments.customer_clusters", "model.segments.customer_cluster_scores"} <= built:
        persons, mismatched, examples = _cluster_scoring_mismatches(run.database)
        if persons == 0:
            problems.append("cluster scoring: no person clustered")
        elif mismatched:
            problems.append(
                f"cluster scoring: {mismatched} of {persons} persons differ between "
                f"customer_cluster_scores and customer_clusters, e.g. "
                f"(person_id, python, sql) {examples}"
            )
    assert not problems, (
        f"{shape.name} ({seconds:.0f} s): {len(problems)} problem(s)\n" + "\n".join(problems)
    )
    models = set(manifest_nodes(run.manifest, ("model",)))
    assert models and models <= built, sorted(models - built)  # every mart, every model built
    if gate_vars:
        failed = {r["unique_id"].split(".")[2] for r in run.results() if r["status"] == "fail"}
        assert run.returncode != 0 and failed == {"business_gates_binding"}, failed
        assert "Business gate failed (error): " in run.output
        assert "above segment_max_share 0.2: raise the var segment_max_share" in run.output
        assert query(run.database, "select count(*) from segment_summary")[0][0] > 0
        assert query(run.database, "select count(*) from segment_membership_changes")[0][0] > 0


def test_only_a_business_gate_may_fail_and_the_table_counts_it(tmp_path):
    """The rules above and python_utils.shapes.summarize on a made-up build (no dbt run)."""
    from types import SimpleNamespace

    from python_utils.shapes import markdown_table, summarize

    def node(kind, tags=()):
        return {"resource_type": kind, "tags": list(tags), "config": {"tags": list(tags)}}

    manifest = {
        "nodes": {
            "model.p.a": node("model"),
            "model.p.b": node("model"),
            "test.p.gate": node("test", [BUSINESS_GATE]),
            "test.p.plain": node("test"),
            "test.p.gate_error": node("test", [BUSINESS_GATE]),
            "test.p.after_b": node("test"),
        },
        "unit_tests": {"unit_test.p.u": {"resource_type": "unit_test", "tags": []}},
    }
    results = [
        {"unique_id": "model.p.a", "status": "success", "message": None},
        {"unique_id": "model.p.b", "status": "skipped", "message": None},
        {"unique_id": "test.p.gate", "status": "fail", "message": "Got 1 result"},
        {"unique_id": "test.p.plain", "status": "fail", "message": "Got 2 results\nmore"},
        {"unique_id": "test.p.gate_error", "status": "error", "message": "Binder Error: x"},
        {"unique_id": "test.p.after_b", "status": "skipped", "message": None},
        {"unique_id": "unit_test.p.u", "status": "pass", "message": None},
    ]
    run = SimpleNamespace(
        results=lambda: results, manifest=manifest, database=tmp_path / "none.duckdb"
    )
    assert _problems(run) == [
        "test test.p.gate_error: error Binder Error: x",
        "test test.p.plain: fail Got 2 results",
        "model model.p.b: skipped ",
        "test test.p.after_b: skipped",
    ]
    outcome = summarize("made_up", 1, 2.5, results, manifest)
    assert (outcome.models_success, outcome.models_total, outcome.models_skipped) == (1, 2, 1)
    assert (outcome.tests_passed, outcome.tests_total, outcome.tests_skipped) == (1, 5, 1)
    assert list(outcome.failures) == ["test.p.gate", "test.p.plain", "test.p.gate_error"]
    assert outcome.gate_failures == ["test.p.gate"] and outcome.blocking == 4
    assert not outcome.green
    row = markdown_table([outcome]).splitlines()[2]
    assert row.startswith(
        "| made_up | 1 / 2 | 1 | 1 / 5 (1 skipped) | "
        "`test.p.gate` (business gate) fail: Got 1 result"
    )
    assert row.endswith("| 0 | 2 |")
    gate_only = summarize(
        "gate_only",
        1,
        1.0,
        [
            {"unique_id": "model.p.a", "status": "success"},
            {"unique_id": "model.p.b", "status": "success"},
            {"unique_id": "test.p.gate", "status": "fail", "message": "Got 1 result"},
            *(
                {"unique_id": uid, "status": "pass"}
                for uid in ("test.p.plain", "test.p.gate_error", "test.p.after_b", "unit_test.p.u")
            ),
        ],
        manifest,
    )
    assert gate_only.green and gate_only.gate_failures == ["test.p.gate"]
