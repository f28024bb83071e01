"""Consent is a property of the person, for every purpose and on every path (data contract,
"Consent"), and a deletion reaches every table downstream of staging, logs included.

One small demo dataset with planted decisions: customer A grants analytics and later revokes it
on the user id (its device has no refusal of its own); customer P refuses personalization on one
of its devices; customer M refuses marketing. The daily build runs; then a deletion request for
customer X (who is in the change log by then) and an analytics revocation of customer B land as
new files, the real-time fast path runs, and the daily build runs again.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from dbt_harness import generate, query, run_dbt

ARGS = ("--customers", "400", "--days", "21", "--seed", "5")
VARS = {"segment_test_severity": "warn"}
BUILD = ["build", "--exclude-resource-type", "unit_test"]
DEMO_SALT = "segments-demo-salt"


def salted_hash(value: str) -> str:
    """hash_pii of the project: SHA-256 hex of the salt and the trimmed, lower-case value."""
    return hashlib.sha256((DEMO_SALT + value.strip().lower()).encode()).hexdigest()


def person_id_of(id_type: str, value: str) -> str:
    """The person id a lone id leads (dbt.hash of identity_node_label, md5 on DuckDB)."""
    return hashlib.md5((("0" if id_type == "user_id" else "1") + value).encode()).hexdigest()


def pick_customers(raw: Path) -> dict:
    """Customers with every consent granted and one device (with its own grants, anonymous-only
    events, and events in the last five days: the real-time window), seen with no other user."""
    events = f"read_parquet('{raw}/events/*.parquet')"
    consents = f"read_parquet('{raw}/consents/*.parquet')"
    with duckdb.connect() as connection:
        last = connection.sql(
            f"select max(try_cast(occurred_at as timestamp)) from {events}"
        ).fetchall()[0][0]
        rows = connection.sql(f"""
            with granted as (
                select subject_id from {consents} group by 1 having bool_and(granted)
            ),
            devices as (
                select user_id, min(anonymous_id) as anonymous_id
                from {events}
                where user_id in (select subject_id from {consents} group by 1
                                  having bool_and(granted) and count(distinct purpose) = 3)
                    and anonymous_id is not null
                group by 1
                having count(distinct anonymous_id) = 1
            ),
            recent as (
                select devices.user_id, devices.anonymous_id
                from devices
                inner join {events} as events
                    on events.anonymous_id = devices.anonymous_id
                group by 1, 2
                having count(*) filter (where events.user_id is null) > 0
                    and count(*) filter (where try_cast(events.occurred_at as timestamp)
                                         > timestamp '{last}' - interval 5 day) >= 3
            )
            select user_id, anonymous_id from recent
            where anonymous_id in (select subject_id from granted)
                and user_id not in (select subject_id
                                    from read_parquet('{raw}/deletion_requests/*.parquet'))
                and anonymous_id not in (select anonymous_id from {events}
                                         where user_id is not null and anonymous_id is not null
                                             and user_id <> recent.user_id)
            order by user_id limit 5""").fetchall()
    assert len(rows) == 5, "the demo has too few customers with a device in the window"
    names = ["A", "P", "M", "X", "B"]
    return {
        "last": last,
        **{name: {"user_id": u, "anonymous_id": a} for name, (u, a) in zip(names, rows)},
    }


def write_consents(path: Path, rows: list[tuple]) -> None:
    with duckdb.connect() as connection:
        connection.execute(
            "create table c (subject_id varchar, purpose varchar, granted boolean, "
            "recorded_at varchar, region varchar)"
        )
        connection.executemany("insert into c values (?, ?, ?, ?, ?)", rows)
        connection.execute(f"copy c to '{path}' (format parquet)")


def relations_downstream_of_staging(manifest: dict) -> list[str]:
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == "segments"
        and node["config"]["materialized"] != "ephemeral"
        and node["original_file_path"].startswith(("models/intermediate", "models/marts"))
    )


def rows_holding(database: Path, relations: list[str], values: set[str]) -> dict[str, int]:
    """Per relation, the rows with any column (as text) equal to one of the values."""
    found = {}
    literal = ", ".join(f"'{v}'" for v in sorted(values))
    with duckdb.connect(str(database), read_only=True) as connection:
        for relation in relations:
            columns = [
                c
                for (c,) in connection.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'main' and table_name = ?",
                    [relation],
                ).fetchall()
            ]
            condition = " or ".join(f'cast("{c}" as varchar) in ({literal})' for c in columns)
            count = connection.execute(
                f'select count(*) from main."{relation}" where {condition}'
            ).fetchone()[0]
            if count:
                found[relation] = count
    return found


@pytest.fixture(scope="module")
def consent_runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("consent")
    raw = root / "raw"
    generate(raw, *ARGS)
    picked = pick_customers(raw)
    last = picked["last"]
    early = (last - timedelta(days=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    late = (last - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_consents(
        raw / "consents" / "planted.parquet",
        [
            (picked["A"]["user_id"], "analytics", True, early, "US"),
            (picked["A"]["user_id"], "analytics", False, late, "US"),
            (picked["P"]["anonymous_id"], "personalization", False, late, "US"),
            (picked["M"]["user_id"], "marketing", False, late, "US"),
        ],
    )
    work = root / "work"
    daily = run_dbt(BUILD, raw, work, dbt_vars=VARS)
    assert daily.returncode == 0, daily.output[-4000:]
    x_ids = {picked["X"]["user_id"], picked["X"]["anonymous_id"]}
    x_values = x_ids | {person_id_of("user_id", picked["X"]["user_id"])}
    before = rows_holding(daily.database, relations_downstream_of_staging(daily.manifest), x_values)
    b_person = query(
        daily.database,
        f"select person_id from int_identity_resolved where id_value = '{picked['B']['user_id']}'",
    )[0][0]
    b_realtime_before = query(
        daily.database, f"select count(*) from int_realtime_events where person_id = '{b_person}'"
    )[0][0]
    snapshot = root / "after_daily.duckdb"
    shutil.copy(daily.database, snapshot)
    # New files: X asks for deletion, B revokes analytics (both after the daily build).
    with duckdb.connect() as connection:
        connection.execute(f"""copy (select '{picked["X"]["user_id"]}' as subject_id,
                               '{late}' as requested_at)
                               to '{raw / "deletion_requests" / "late.parquet"}' (format parquet)""")
    write_consents(
        raw / "consents" / "revocation.parquet",
        [(picked["B"]["user_id"], "analytics", False, late, "US")],
    )
    realtime = run_dbt([*BUILD, "--selector", "realtime"], raw, work, dbt_vars=VARS)
    assert realtime.returncode == 0, realtime.output[-4000:]
    fast = {
        "b_realtime": query(
            realtime.database,
            f"select count(*) from int_realtime_events where person_id = '{b_person}'",
        )[0][0],
        "x_changes": rows_holding(realtime.database, ["segment_membership_changes"], x_values),
    }
    second = run_dbt(BUILD, raw, work, dbt_vars=VARS)
    assert second.returncode == 0, second.output[-4000:]
    return {
        "picked": picked,
        "raw": raw,
        "daily": snapshot,
        "daily_run": daily,
        "x_values": x_values,
        "x_before": before,
        "b_person": b_person,
        "b_realtime_before": b_realtime_before,
        "fast": fast,
        "second": second,
    }


def test_a_revoked_user_keeps_its_linked_device_out_of_every_mart(consent_runs):
    picked, db = consent_runs["picked"], consent_runs["daily"]
    user_id, device = picked["A"]["user_id"], picked["A"]["anonymous_id"]
    [(person,)] = query(
        db, f"select person_id from int_identity_resolved where id_value = '{device}'"
    )
    assert query(
        db,
        "select is_granted, decision_basis, source_subject_id from int_person_consents "
        f"where person_id = '{person}' and purpose = 'analytics'",
    ) == [(False, "decision", user_id)]
    # the device's own events (no user id on them) were accepted by staging ...
    assert (
        query(
            db,
            f"select count(*) from stg_app__events where anonymous_id = '{device}' "
            "and user_id is null",
        )[0][0]
        > 0
    )
    # ... and none of the person's events reaches anything after the privacy layer
    for table, column in [
        ("int_events_permitted", "person_id"),
        ("int_events_sessionized", "person_id"),
        ("sessions", "person_id"),
        ("customer_engagement", "person_id"),
        ("int_person_rule_signals", "person_id"),
        ("int_realtime_events", "person_id"),
        ("customer_realtime_segments", "person_id"),
    ]:
        assert query(db, f"select count(*) from {table} where {column} = '{person}'") == [(0,)], (
            table
        )
    assert query(db, f"select count(*) from sessions where visitor_id = '{device}'") == [(0,)]
    # and the other planted customers' events are in (so the check can fail)
    other = picked["P"]["anonymous_id"]
    assert query(db, f"select count(*) from sessions where visitor_id = '{other}'")[0][0] > 0


def test_a_personalization_refusal_on_a_device_gets_the_default_block(consent_runs):
    picked, db = consent_runs["picked"], consent_runs["daily"]
    [(person,)] = query(
        db,
        f"select person_id from int_identity_resolved where id_value = '{picked['P']['user_id']}'",
    )
    assert query(
        db,
        "select content_block, content_block_reason, has_personalization_consent "
        f"from customer_segments where person_id = '{person}'",
    ) == [("default_homepage", "no_personalization_consent", False)]
    personalized = query(
        db,
        """
        select count(*) from customer_segments
        where has_personalization_consent and content_block <> 'default_homepage'""",
    )[0][0]
    assert personalized > 0
    leaked = query(
        db,
        """
        select count(*) from customer_segments as segments
        inner join int_person_consents as consents
            on segments.person_id = consents.person_id and consents.purpose = 'personalization'
        where not consents.is_granted_latest
            and segments.content_block <> 'default_homepage'""",
    )[0][0]
    assert leaked == 0


def test_a_marketing_refusal_is_in_no_feed_only_in_the_suppression_list(consent_runs):
    picked, db = consent_runs["picked"], consent_runs["daily"]
    user_id = picked["M"]["user_id"]
    [(person,)] = query(
        db, f"select person_id from int_identity_resolved where id_value = '{user_id}'"
    )
    assert query(
        db, f"select has_marketing_consent from customer_segments where person_id = '{person}'"
    ) == [(False,)]
    assert query(
        db, f"select count(*) from segment_membership_changes where person_id = '{person}'"
    ) == [(0,)]
    # a consented planted customer is in the feed (the check can fail)
    [(other,)] = query(
        db,
        f"select person_id from int_identity_resolved where id_value = '{picked['P']['user_id']}'",
    )
    assert (
        query(db, f"select count(*) from segment_membership_changes where person_id = '{other}'")[
            0
        ][0]
        > 0
    )
    suppressed = dict(
        query(
            db, "select subject_hash, reason from audience_suppressions where purpose = 'marketing'"
        )
    )
    assert suppressed.get(salted_hash(user_id)) == "marketing_refused"
    assert suppressed.get(salted_hash(picked["M"]["anonymous_id"])) == "marketing_refused"
    assert not {salted_hash(v) for v in picked["P"].values()} & set(suppressed)
    # no feed row belongs to a person who refused marketing, and no raw id is in the list
    assert query(
        db,
        """
        select count(*) from segment_membership_changes as changes
        inner join int_person_consents as consents
            on changes.person_id = consents.person_id and consents.purpose = 'marketing'
        where not consents.is_granted_latest""",
    ) == [(0,)]
    assert user_id not in suppressed


def test_a_revocation_in_a_new_file_takes_effect_in_the_next_fast_path_run(consent_runs):
    assert consent_runs["b_realtime_before"] > 0
    assert consent_runs["fast"]["b_realtime"] == 0
    db = consent_runs["second"].database
    assert query(
        db, f"select count(*) from sessions where person_id = '{consent_runs['b_person']}'"
    ) == [(0,)]


def test_a_deletion_leaves_no_row_downstream_of_staging_logs_included(consent_runs):
    before = consent_runs["x_before"]
    assert before.get("segment_membership_changes", 0) > 0  # X was in the log ...
    assert before.get("sessions", 0) > 0  # ... and in the marts
    assert consent_runs["fast"]["x_changes"] == {}  # purged by the next fast-path run
    second = consent_runs["second"]
    relations = relations_downstream_of_staging(second.manifest)
    assert len(relations) > 40
    assert rows_holding(second.database, relations, consent_runs["x_values"]) == {}
    picked = consent_runs["picked"]
    deleted = {
        h
        for (h,) in query(second.database, "select subject_hash from int_privacy_deleted_subjects")
    }
    assert salted_hash(picked["X"]["user_id"]) in deleted
    assert salted_hash(picked["X"]["anonymous_id"]) in deleted


def test_the_benchmark_baseline_follows_the_person_level_rules(consent_runs, tmp_path):
    """The hand-written baseline (python_utils/sql/baseline.sql) computes sessions, RFM and
    engagement with the same person-level consent and deletion rules: on this data, with a
    revocation by user id that keeps a device out and a late deletion, it equals the marts."""
    from python_utils.bench_pipeline import BASELINE_TABLES, compare_baseline, run_baseline

    second = consent_runs["second"]
    as_of = str(query(second.database, "select as_of_date from stg_observation_window")[0][0])
    baseline_db = tmp_path / "baseline.duckdb"
    run_baseline(str(consent_runs["raw"]), as_of, str(baseline_db))
    comparison = compare_baseline(str(baseline_db), str(second.database))
    assert set(comparison) == set(BASELINE_TABLES)
    for mart, counts in comparison.items():
        assert counts["rows"] > 0, mart
        assert counts["only_dbt"] == counts["only_baseline"] == 0, (mart, counts)
