"""The incremental pipeline equals a full build. Events land in batches: days 1-20, then 21-25,
then 26-30 with late events from days 21-25, a replay of 200 early rows under a new file name,
a late identity merge (an anonymous visitor of the first batch logs in as a customer) followed by
that visitor's cart abandonment, a revocation: a customer withdraws analytics consent in a
new consent file, and a device of the first batch (no consent record of its own refuses) logs in
as that customer only in this batch, and a CRM merge: a new customers file holds a second record
of a buying customer (the same e-mail in capitals, a customer id that sorts first, so the
person's id and all its history move to the merged person); then a run with nothing new.

The incremental side runs the whole project once (batch 1, the daily build), the incremental
run (`--selector incremental`: staging, as_of and the sessions of the visitors whose events
changed) after batch 2, the real-time fast path (`--selector realtime`) after the later ones, and
the whole project again at the end (its sessions incremental again: late and replayed events,
the merged visitor). The fast path judges timestamps against the as_of of the last daily build
or incremental run (it does not move as_of), so after every batch the staging tables equal a
--full-refresh build with that as_of;
the batches span five days each, so the test allows ten days of future tolerance. At the end
every model of the project equals a --full-refresh build of all the data, row for row. The
--full-refresh runs on a copy of the incremental database taken before the last daily build:
it rebuilds every derived table from the raw files and keeps the three logs
(segment_model_runs, supervised_model_runs, segment_membership_changes, full_refresh=false),
so both sides match clusters against the same history; only the fit times differ."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from dbt_harness import NO_TESTS, NO_UNIT_TESTS, generate, query, run_dbt

ARGS = ("--customers", "300", "--days", "30", "--seed", "3", "--dirty-rate", "0.02")
# Size gates judge segments, not equivalence: 300 customers make small segments. The fast path
# keeps the last daily build's as_of; batches of five days need that much future tolerance.
# (Unit tests pin the default vars: they run in the other suites, not here.)
VARS = {"segment_test_severity": "warn", "future_tolerance_days": 10}
BUILD = ["build", *NO_UNIT_TESTS]
# The first build and the full-refresh reference only need to be built: the data tests judge the
# incremental side (every build after the first, and the final one).
MODELS_ONLY = ["build", *NO_TESTS]
STAGING = ["--select", "+stg_app__events", "+stg_app__events_quarantine"]
STAGING_COMPARED = ("base_app__events_triaged", "stg_app__events", "stg_app__events_quarantine")
VOLATILE_COLUMNS = {"fit_seconds"}  # wall-clock fit times in the model logs


def split_events(raw: Path, batches: Path) -> tuple[list[list[str]], dict]:
    """Cut the events into files by time: days 1-20, 21-25 and 26-30, plus late events (from
    days 21-25, landing with the last batch), a replay of 200 early rows under a new name and a
    login of an anonymous-only visitor of days 1-20 as a customer, with a cart add an hour
    before the last event and no purchase. Returns the file names of each batch and the merge."""
    batches.mkdir(parents=True)
    source = f"read_parquet('{raw}/events/*.parquet')"
    day = "try_cast(occurred_at as timestamp)"
    with duckdb.connect() as connection:
        start = connection.sql(f"select min({day})::date from {source}").fetchall()[0][0]
        last = connection.sql(
            f"select max({day}) from {source} "  # not the far-future dirt
            f"where {day} < date '{start}' + 30"
        ).fetchall()[0][0]
        parts = {
            "part-a.parquet": f"{day} < date '{start}' + 20 or {day} is null",
            "part-b.parquet": f"{day} >= date '{start}' + 20 and {day} < date '{start}' + 25 "
            "and hash(event_id) % 10 != 0",
            "part-c.parquet": f"{day} >= date '{start}' + 25",
            "late-b.parquet": f"{day} >= date '{start}' + 20 and {day} < date '{start}' + 25 "
            "and hash(event_id) % 10 = 0",
        }
        for name, condition in parts.items():
            connection.execute(
                f"copy (select * from {source} where {condition}) "
                f"to '{batches / name}' (format parquet)"
            )
        connection.execute(
            f"copy (select * from {source} where {day} < date '{start}' + 10 "
            f"order by event_id limit 200) to '{batches / 'replay-a.parquet'}' "
            "(format parquet)"
        )
        # Anonymous visitors seen only in days 1-20 and never with a user id, with consent;
        # customers with consent for every purpose who never buy after day 20.
        granted = (
            f"select subject_id from read_parquet('{raw}/consents/*.parquet') "
            "group by 1 "
            "having bool_and(lower(cast(granted as varchar)) in ('true', '1', 'yes')) "
            "except select subject_id "
            f"from read_parquet('{raw}/deletion_requests/*.parquet')"
        )
        anonymous_id, device_id = [
            r
            for (r,) in connection.sql(f"""
            select anonymous_id from {source}
            where anonymous_id in ({granted})
            group by anonymous_id
            having count(user_id) = 0 and max({day}) < date '{start}' + 20 and count(*) >= 5
            order by anonymous_id limit 2""").fetchall()
        ]
        user_id, revoked_id = [
            r
            for (r,) in connection.sql(f"""
            select user_id from {source}
            where user_id in ({granted})
            group by user_id
            having count(*) filter (where event_type = 'purchase'
                                    and {day} >= date '{start}' + 20) = 0
                and count(*) >= 5
            order by user_id limit 2""").fetchall()
        ]
        write_login_and_cart(
            connection, source, anonymous_id, user_id, last, "merge", batches / "merge-c.parquet"
        )
        # The revocation: the customer refuses analytics two hours before the last event (a new
        # consent file), and the device logs in as the customer half an hour later, then adds
        # to cart.
        connection.execute(f"""
            copy (
                select * replace (
                    false as granted,
                    strftime(timestamp '{last}' - interval 120 minute, '%Y-%m-%dT%H:%M:%SZ')
                        as recorded_at)
                from read_parquet('{raw}/consents/*.parquet')
                where subject_id = '{revoked_id}' and purpose = 'analytics'
                limit 1
            ) to '{batches / "revoke-c.parquet"}' (format parquet)""")
        write_login_and_cart(
            connection,
            source,
            device_id,
            revoked_id,
            last,
            "revoke",
            batches / "revoke-device-c.parquet",
        )
        # The CRM twin: a buying customer with marketing consent and an e-mail that links
        # (not a test domain), registered again under an id that sorts before its own.
        original = connection.sql(f"""
            select customers.customer_id
            from read_parquet('{raw}/customers/*.parquet') as customers
            where customers.customer_id in ({granted})
                and customers.customer_id in (
                    select subject_id from read_parquet('{raw}/consents/*.parquet')
                    where purpose = 'marketing')
                and customers.customer_id in (
                    select customer_id from read_parquet('{raw}/orders/*.parquet')
                    where status = 'completed')
                and customers.customer_id not in ('{user_id}', '{revoked_id}')
                and customers.customer_id like 'C%'
                and customers.email like '%_@_%' and customers.email not like '%@example.%'
                and customers.email not like '%@%@%'
            order by customers.customer_id limit 1""").fetchall()[0][0]
        twin = "B" + original[1:]
        connection.execute(f"""
            copy (
                select * replace ('{twin}' as customer_id, upper(email) as email)
                from read_parquet('{raw}/customers/*.parquet')
                where customer_id = '{original}'
                limit 1
            ) to '{batches / "twin-customer-c.parquet"}' (format parquet)""")
    schedule = [
        ["part-a.parquet"],
        ["part-b.parquet"],
        [
            "part-c.parquet",
            "late-b.parquet",
            "replay-a.parquet",
            "merge-c.parquet",
            "twin-customer-c.parquet",
            "revoke-c.parquet",
            "revoke-device-c.parquet",
        ],
        [],
    ]
    return schedule, {
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "device_id": device_id,
        "revoked_id": revoked_id,
        "crm_original": original,
        "crm_twin": twin,
    }


def write_login_and_cart(
    connection, source: str, anonymous_id: str, user_id: str, last, prefix: str, out: Path
) -> None:
    """Two events of the device, copied from one of its own: a login as the customer 90 minutes
    before the last event (<prefix>-login) and an add to cart without the user id 30 minutes
    later (<prefix>-cart), written to one new file."""
    template = f"(select * from {source} where anonymous_id = '{anonymous_id}' limit 1)"
    connection.execute(f"""
        copy (
            select * replace (
                '{prefix}-login' as event_id, '{user_id}' as user_id,
                'page_view' as event_type,
                strftime(timestamp '{last}' - interval 90 minute, '%Y-%m-%dT%H:%M:%S')
                    as occurred_at)
            from {template}
            union all
            select * replace (
                '{prefix}-cart' as event_id, null as user_id, 'add_to_cart' as event_type,
                strftime(timestamp '{last}' - interval 60 minute, '%Y-%m-%dT%H:%M:%S')
                    as occurred_at, 'P0001' as product_id)
            from {template}
        ) to '{out}' (format parquet)""")


def land(raw: Path, batches: Path, names: list[str]) -> None:
    for name in names:
        table = {"revoke-c.parquet": "consents", "twin-customer-c.parquet": "customers"}.get(
            name, "events"
        )
        shutil.copy(batches / name, raw / table / name)


def table_rows(database: Path, table: str) -> list[tuple]:
    columns = [
        c
        for (c,) in query(
            database,
            "select column_name from information_schema.columns "
            f"where table_name = '{table}' order by ordinal_position",
        )
        if c not in VOLATILE_COLUMNS
    ]
    listed = ", ".join(f'"{c}"' for c in columns)
    return sorted(query(database, f"select {listed} from {table}"), key=repr)


def person_of(database: Path, id_type: str, id_value: str) -> str:
    return query(
        database,
        f"select person_id from int_identity_resolved "
        f"where id_type = '{id_type}' and id_value = '{id_value}'",
    )[0][0]


def revoked_traces(database: Path, merge: dict) -> dict:
    """Rows of the revoking customer and its device in the events, sessions and real-time window."""
    ids = f"('{merge['device_id']}', '{merge['revoked_id']}')"
    return {
        "permitted": query(
            database,
            "select count(*) from int_events_permitted "
            f"where anonymous_id in {ids} or user_id in {ids}",
        )[0][0],
        "sessions": query(database, f"select count(*) from sessions where visitor_id in {ids}")[0][
            0
        ],
        "realtime": query(
            database, f"select count(*) from int_realtime_events where visitor_id in {ids}"
        )[0][0],
    }


def current_memberships(database: Path) -> set[tuple]:
    """The memberships the change log adds up to: the last change of each is an entry."""
    return set(
        query(
            database,
            """
        select person_id, segment_family, segment_name from segment_membership_changes
        qualify row_number() over (partition by person_id, segment_family, segment_name
                                   order by change_number desc) = 1
            and change_type = 'entered'""",
        )
    )


def stage_batches(root: Path) -> tuple[Path, list[list[str]], dict]:
    """Generate the data under root/source, cut its events into root/batches (split_events) and
    lay out root/raw with every table but the events, which land batch by batch. Returns the raw
    folder, the schedule of batch files and the planted ids."""
    source = root / "source"
    generate(source, *ARGS)
    schedule, merge = split_events(source, root / "batches")
    raw = root / "raw"
    shutil.copytree(source, raw, ignore=shutil.ignore_patterns("events"))
    (raw / "events").mkdir()
    return raw, schedule, merge


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    raw, schedule, merge = stage_batches(root)
    return {
        "root": root,
        "raw": raw,
        "batches": root / "batches",
        "schedule": schedule,
        "merge": merge,
    }


@pytest.fixture(scope="module")
def incremental_runs(batches) -> dict:
    """Land the batches; the incremental side builds after each, staging is compared."""
    root, raw = batches["root"], batches["raw"]
    work = root / "incremental"
    runs = []
    for number, names in enumerate(batches["schedule"], start=1):
        land(raw, batches["batches"], names)
        selector = {1: None, 2: "incremental"}.get(number, "realtime")
        command = [*BUILD, "--selector", selector] if selector else MODELS_ONLY
        run = run_dbt(command, raw, work, dbt_vars=VARS)
        assert run.returncode == 0, run.output[-4000:]
        staging = None
        if names and number > 1:
            as_of = str(query(run.database, "select as_of_date from stg_observation_window")[0][0])
            full = run_dbt(
                [*BUILD, *STAGING, "--full-refresh"],
                raw,
                root / "full_staging",
                dbt_vars={**VARS, "as_of": as_of},
            )
            assert full.returncode == 0, full.output[-4000:]
            staging = {t: table_rows(full.database, t) for t in STAGING_COMPARED}
        kpis = table_rows(run.database, "segment_kpis_daily") if number == 1 else None
        runs.append(
            {
                "run": run,
                "names": names,
                "staging": staging,
                "kpis": kpis,
                "cart_person": query(
                    run.database,
                    "select person_id from int_realtime_events where event_id = 'merge-cart'",
                ),
                "revoked": revoked_traces(run.database, batches["merge"]),
                "incremental": {t: table_rows(run.database, t) for t in STAGING_COMPARED},
                "changes": query(
                    run.database,
                    """
                        select change_number, person_id, segment_family, segment_name, change_type
                        from segment_membership_changes
                        where change_number = (select max(change_number)
                                               from segment_membership_changes)""",
                ),
            }
        )
    (root / "full").mkdir()
    for name in ("segments.duckdb", "segments.duckdb.wal"):
        if (work / name).exists():
            shutil.copy(work / name, root / "full" / name)
    final = run_dbt(BUILD, raw, work, dbt_vars=VARS)
    assert final.returncode == 0, final.output[-4000:]
    full = run_dbt([*MODELS_ONLY, "--full-refresh"], raw, root / "full", dbt_vars=VARS)
    assert full.returncode == 0, full.output[-4000:]
    return {"runs": runs, "final": final, "full": full}


def test_incremental_staging_equals_a_full_build_after_every_batch(incremental_runs):
    for number, batch in enumerate(incremental_runs["runs"], start=1):
        for table, rows in (batch["staging"] or {}).items():
            assert batch["incremental"][table] == rows, (
                f"{table} differs from a full build after batch {number} {batch['names']}"
            )
    database = incremental_runs["final"].database
    reasons = dict(
        query(database, "select reason, count(*) from stg_app__events_quarantine group by 1")
    )
    assert reasons.get("duplicate_key", 0) >= 200  # the replayed rows


def test_every_model_equals_a_full_refresh_build(incremental_runs):
    final, full = incremental_runs["final"], incremental_runs["full"]
    models = sorted(
        node["name"]
        for node in full.manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == "segments"
        and node["config"]["materialized"] != "ephemeral"
    )
    assert len(models) > 60
    different = [m for m in models if table_rows(final.database, m) != table_rows(full.database, m)]
    assert different == []
    assert query(full.database, "select count(*) from segment_model_runs")[0][0] == 2  # kept
    # The change log adds up to the memberships the marts hold, for the persons activation may
    # contact (marketing consent); the others are not in it at all.
    logged = current_memberships(final.database)
    contactable = {
        p
        for (p,) in query(
            final.database,
            "select person_id from int_person_consents "
            "where purpose = 'marketing' "
            "and is_granted_latest",
        )
    }
    refused = {
        p
        for (p,) in query(
            final.database,
            "select person_id from int_person_consents "
            "where purpose = 'marketing' "
            "and not is_granted_latest",
        )
    }
    assert refused and not refused & {p for p, _, _ in logged}
    for flag in (
        "cart_abandoner",
        "high_value_cart_abandoner",
        "high_intent_product_viewer",
        "rapid_product_browser",
    ):
        members = {
            p
            for (p,) in query(
                final.database, f"select person_id from customer_realtime_segments where is_{flag}"
            )
        }
        assert {p for p, f, s in logged if f == "realtime" and s == flag} == members & contactable
    clusters = set(
        query(
            final.database,
            "select person_id, cluster_name from customer_segments where cluster_name is not null",
        )
    )
    assert {(p, s) for p, f, s in logged if f == "cluster"} == {
        (p, s) for p, s in clusters if p in contactable
    }


def test_segment_kpis_keep_the_first_day_and_add_the_last(incremental_runs):
    """segment_kpis_daily appends one day per daily build: the first build's day is kept as it
    was (not recomputed from later data), the final build adds its own as_of."""
    final = incremental_runs["final"].database
    first = incremental_runs["runs"][0]["kpis"]
    first_day = {row[0] for row in first}
    assert len(first_day) == 1 and len(first) > 10
    days = [
        d for (d,) in query(final, "select distinct kpi_date from segment_kpis_daily order by 1")
    ]
    last_day = query(final, "select as_of_date from stg_observation_window")[0][0]
    assert days == [*first_day, last_day] and last_day > min(first_day)
    kept = [row for row in table_rows(final, "segment_kpis_daily") if row[0] in first_day]
    assert kept == first


def test_a_rerun_with_nothing_new_changes_nothing(incremental_runs):
    quiet = incremental_runs["runs"][-1]
    assert quiet["names"] == []
    assert quiet["incremental"] == incremental_runs["runs"][-2]["incremental"]
    assert quiet["changes"] == incremental_runs["runs"][-2]["changes"]  # no new change number


def test_realtime_path_stitches_a_login_in_the_window_at_once(batches, incremental_runs):
    anonymous_id, user_id = batches["merge"]["anonymous_id"], batches["merge"]["user_id"]
    third, final = incremental_runs["runs"][2], incremental_runs["final"]
    # Right after its batch landed, the fast path (with the identity graph of the last full
    # build, where the visitor is a person of its own) puts the visitor's abandoned cart under
    # the customer it logged in as within the window.
    assert third["names"][3] == "merge-c.parquet"
    customer_person = person_of(final.database, "user_id", user_id)
    assert third["cart_person"] == [(customer_person,)]
    assert (
        third["changes"][0][0],
        customer_person,
        "realtime",
        "cart_abandoner",
        "entered",
    ) in third["changes"]
    # The next full build knows the login for good: the visitor's whole history belongs to the
    # customer's person, which still holds the abandonment.
    assert person_of(final.database, "anonymous_id", anonymous_id) == customer_person
    assert query(
        final.database,
        f"select distinct person_id from int_events_permitted "
        f"where anonymous_id = '{anonymous_id}'",
    ) == [(customer_person,)]
    assert query(
        final.database,
        "select is_cart_abandoner from customer_realtime_segments "
        f"where person_id = '{customer_person}'",
    ) == [(True,)]


def test_a_revocation_reaches_the_device_linked_only_later(batches, incremental_runs):
    """A customer revokes analytics in a new consent file while a device of the first batch (no
    refusal of its own) logs in as that customer: the fast path keeps both out of the real-time
    window at once, the next daily build merges the device into the customer's person and
    removes every event of both from the events and sessions, the device's history included."""
    device_id, revoked_id = batches["merge"]["device_id"], batches["merge"]["revoked_id"]
    runs, final = incremental_runs["runs"], incremental_runs["final"]
    first = runs[0]["revoked"]
    assert first["permitted"] > 0 and first["sessions"] > 0  # both were in before
    assert runs[2]["names"][-1] == "revoke-device-c.parquet"
    assert runs[2]["revoked"]["realtime"] == 0  # the fast path right after the batch
    database = final.database
    person = person_of(database, "user_id", revoked_id)
    assert person_of(database, "anonymous_id", device_id) == person
    assert query(
        database,
        "select is_granted, decision_basis from int_person_consents "
        f"where person_id = '{person}' and purpose = 'analytics'",
    ) == [(False, "decision")]
    assert revoked_traces(database, batches["merge"]) == {
        "permitted": 0,
        "sessions": 0,
        "realtime": 0,
    }
    assert query(
        database,
        "select count(*) from int_events_sessionized "
        f"where visitor_id in ('{device_id}', '{revoked_id}')",
    ) == [(0,)]


def test_a_crm_twin_in_a_later_batch_moves_the_persons_history(batches, incremental_runs):
    """A second CRM record of a buying customer lands with the third batch (the same e-mail in
    capitals, under an id that sorts first). The next daily build links the two records: the
    person is now labelled by the twin, so its person id changes and every row of the person's
    history (sessions, segments) moves to the new id, while the full-refresh equality above
    proves the incremental tables followed. The change log records the move: the old person id
    exits every segment it held, the merged person enters them."""
    import hashlib

    original, twin = batches["merge"]["crm_original"], batches["merge"]["crm_twin"]
    database = incremental_runs["final"].database
    old_person = hashlib.md5(f"0{original}".encode()).hexdigest()
    new_person = hashlib.md5(f"0{twin}".encode()).hexdigest()
    assert (
        person_of(database, "user_id", original)
        == person_of(database, "user_id", twin)
        == new_person
    )
    assert query(
        database,
        "select customer_id, customer_count, customer_ids from customer_segments "
        f"where person_id = '{new_person}'",
    ) == [(twin, 2, f"{twin},{original}")]
    assert query(database, f"select count(*) from sessions where person_id = '{old_person}'") == [
        (0,)
    ]
    assert (
        query(database, f"select count(*) from sessions where person_id = '{new_person}'")[0][0] > 0
    )
    # customer_rfm stays per customer id: the original's orders, under its own id
    assert query(
        database, f"select count(*) from customer_rfm where customer_id = '{original}'"
    ) == [(1,)]
    logged = current_memberships(database)
    assert not [m for m in logged if m[0] == old_person]
    assert [m for m in logged if m[0] == new_person]
    exits = query(
        database,
        "select count(*) from segment_membership_changes "
        f"where person_id = '{old_person}' and change_type = 'exited'",
    )[0][0]
    assert exits > 0
