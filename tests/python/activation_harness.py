"""One small demo dataset and one sequence of real dbt runs shared by the activation test files
(test_recommendations, test_audiences, test_journeys): they all need the whole DAG built, so one
generation and one full build serve the three, and conftest.py schedules them as one unit.

The sequence, each step on the same DuckDB file:

1. a full build without tests (as_of one day after the data, so the crafted events of the next
   day pass the fast path's future cutoff; a daily cap of one message; the activation holdout
   raised to 0.3 so that it is visible in small audiences);
2. recommendations: the rows, then a rebuild of the recommendation models (the same rows must
   come back); a copy of the file for the recommendation tests;
3. audiences: the first change log, two exports, a rebuild with their tests (nothing new), a
   rebuild with the holdout at 0.7 (every audience loses more than half: the shrink guard holds
   the deletes back), the same with audience_max_delete_share 1 (the deletes go through); a copy;
4. journeys: files of crafted events landed one by one, each followed by the real-time fast
   path, a replayed file, and a last daily run (see test_journeys).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb

from dbt_harness import NO_TESTS, NO_UNIT_TESTS, PROJECT_DIR, generate, query, run_dbt

ARGS = ("--customers", "300", "--days", "30", "--seed", "11")
HOLDOUT_SALT = "activation-holdout-v1"
HOLDOUT_SHARE = 0.3
BASE_VARS = {
    "segment_test_severity": "warn",
    "model_test_severity": "warn",
    "activation_holdout_share": HOLDOUT_SHARE,
    "activation_max_messages_per_day": 1,
    "recommendation_gate_min_persons": 50,
}
REALTIME = ["build", "--selector", "realtime", *NO_UNIT_TESTS]
AUDIENCE_MODELS = ["audience_members", "audience_changes", "audience_sync_status"]
BUILD_AUDIENCES = ["build", "--exclude-resource-type", "unit_test", "--select", *AUDIENCE_MODELS]
RECOMMENDATIONS = """
    select person_id, recommendation_rank, product_id, source, score, recommended_at
    from person_recommendations order by person_id, recommendation_rank"""


def in_holdout(person_id: str, share: float = HOLDOUT_SHARE) -> bool:
    """is_activation_holdout, computed independently: the first four hex digits of
    SHA-256(salt || person_id) below round(share x 65536)."""
    digest = hashlib.sha256((HOLDOUT_SALT + person_id).encode()).hexdigest()
    return int(digest[:4], 16) < round(share * 65536)


def check(run, name: str) -> None:
    assert run.returncode == 0, f"{name}: {run.failures() or run.output[-4000:]}"
    errors = [r for r in run.run_results if r["status"] in ("error", "fail")]
    assert not errors, f"{name}: {errors}"


def snapshot(database: Path, name: str) -> Path:
    """A copy of the DuckDB file as it is now, for the tests that read this stage."""
    copy = database.with_name(f"{name}.duckdb")
    shutil.copy(database, copy)
    return copy


def build_all(root: Path) -> dict:
    raw, work = root / "raw", root / "work"
    generate(raw, *ARGS)
    [(last,)] = duckdb.sql(
        f"select max(cast(occurred_at as timestamp)) from read_parquet('{raw}/events/*.parquet')"
    ).fetchall()
    dbt_vars = {**BASE_VARS, "as_of": (last + timedelta(days=1)).strftime("%Y-%m-%d")}
    full = run_dbt(["build", *NO_TESTS], raw, work, dbt_vars)
    check(full, "full build")
    database = full.database
    result = {"raw": raw, "work": work, "vars": dbt_vars, "manifest": full.manifest}
    result["recommendations"] = recommendations_stage(raw, work, database, dbt_vars)
    result["audiences"] = audiences_stage(root, raw, work, database, dbt_vars, full.manifest)
    from test_journeys import journeys_stage  # the crafted events live with their tests

    result["journeys"] = journeys_stage(raw, work, database, dbt_vars)
    return result


def recommendations_stage(raw: Path, work: Path, database: Path, dbt_vars: dict) -> dict:
    rows = query(database, RECOMMENDATIONS)
    rebuild = run_dbt(
        ["run", "--select", "int_product_interactions+", "--exclude", "business_gate_results"],
        raw,
        work,
        dbt_vars,
    )
    check(rebuild, "recommendations rebuild")
    return {
        "db": snapshot(database, "recommendations"),
        "rows": rows,
        "rebuilt_rows": query(database, RECOMMENDATIONS),
        "rebuilt_models": len(rebuild.results()),
    }


def _changes(database: Path) -> list[tuple]:
    return query(
        database,
        "select change_number, audience_id, person_id, change_type,"
        " match_key_type, match_key, is_current_key from audience_changes",
    )


def _member_persons(database: Path) -> dict[str, set[str]]:
    members: dict[str, set[str]] = {}
    for audience_id, person_id in query(
        database, "select distinct audience_id, person_id from audience_members"
    ):
        members.setdefault(audience_id, set()).add(person_id)
    return members


def _export(database: Path, out: Path) -> dict[Path, bytes]:
    exported = subprocess.run(
        [
            sys.executable,
            "-m",
            "python_utils",
            "export-audiences",
            "--out",
            str(out),
            "--database",
            str(database),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert exported.returncode == 0, exported.stderr
    return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def audiences_stage(
    root: Path, raw: Path, work: Path, database: Path, dbt_vars: dict, manifest: dict
) -> dict:
    state = {
        "raw": raw,
        "manifest": manifest,
        "changes": _changes(database),
        "members": query(database, "select * from audience_members"),
        "memberships": query(
            database, "select person_id, segment_family, segment_name from segment_memberships"
        ),
        "consents": dict(
            query(
                database,
                "select person_id, is_granted_latest"
                " from int_person_consents where purpose = 'marketing'",
            )
        ),
        "deleted_hashes": {
            h
            for (h,) in query(
                database,
                "select person_hash from"
                " int_privacy_deleted_subjects"
                " where person_hash is not null",
            )
        },
        "person_keys": query(
            database,
            """
            select person_customers.person_id, customers.customer_id, customers.email_sha256,
                customers.phone_e164_sha256, customers.phone_digits_sha256,
                customers.is_shared_email
            from int_person_customers as person_customers
            inner join int_customers_permitted as customers
                on person_customers.customer_id = customers.customer_id""",
        ),
        "destinations": dict(
            query(database, "select destination_id, match_keys from activation_destinations")
        ),
    }
    state["first_files"] = _export(database, root / "export")
    state["second_files"] = _export(database, root / "export")
    # the audience models again, now with their tests: nothing new to append
    rerun = run_dbt(
        [
            *BUILD_AUDIENCES,
            "audience_definitions",
            "activation_destinations",
            "audience_definitions_consistent",
        ],
        raw,
        work,
        dbt_vars,
    )
    check(rerun, "audiences rerun")
    state["after_rerun"] = _changes(database)
    shrink_vars = {**dbt_vars, "activation_holdout_share": 0.7}
    shrunk = run_dbt(BUILD_AUDIENCES, raw, work, shrink_vars)
    check(shrunk, "audiences shrink")
    state["after_shrink"] = {
        "changes": _changes(database),
        "members": _member_persons(database),
        "status": {
            row[0]: row
            for row in query(
                database,
                "select audience_id, synced_member_count, member_count,"
                " pending_delete_count, is_delete_held_back from audience_sync_status",
            )
        },
        "results": shrunk.run_results,
    }
    released = run_dbt(BUILD_AUDIENCES, raw, work, {**shrink_vars, "audience_max_delete_share": 1})
    check(released, "audiences release")
    state["after_release"] = {
        "changes": _changes(database),
        "members": _member_persons(database),
        "held_back": query(
            database, "select count(*) from audience_sync_status where is_delete_held_back"
        )[0][0],
    }
    state["db"] = snapshot(database, "audiences")
    return state
