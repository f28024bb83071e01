"""Journeys end to end on real builds (the shared build of activation_harness): files of crafted
events landed one by one, each followed by the real-time fast path (`--selector realtime`), a
replayed file, and a last daily run. The crafted persons (picked from the built database by their consent and
holdout state) abandon expensive carts after the stream clock; one then clicks and does not buy
within 24 hours, one clicks and buys, one does nothing; one refused marketing and one is in the
activation holdout; one qualifies for two journeys on the same day (the daily cap is 1 here)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from activation_harness import REALTIME, in_holdout
from dbt_harness import run_dbt

# the shared build (activation_harness) caps messages at one a day, which the two-journeys
# person hits, and holds out 30% of persons
is_holdout = in_holdout


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def offsets() -> dict[str, float]:
    with open(
        Path(__file__).resolve().parents[2] / "seeds" / "activation_country_utc_offsets.csv"
    ) as f:
        return {line.split(",")[0]: float(line.split(",")[1]) for line in list(f)[1:]}


def is_quiet(moment, offset: float) -> bool:
    from datetime import timedelta

    hour = (moment + timedelta(hours=offset)).hour
    return hour >= 21 or hour < 8


def pick_persons(database: Path, created) -> dict[str, dict]:
    """Persons with a user id and an event to copy: granted marketing, not in the holdout, in a
    country whose local time when the cart e-mails are created is not quiet; one refused
    marketing; one in the holdout; one granted in a country where it is quiet then."""
    rows = query(
        database,
        """
        with users as (
            select resolved.person_id, min(resolved.id_value) as user_id
            from int_identity_resolved as resolved
            where resolved.id_type = 'user_id'
            group by 1
        ),
        marketing as (
            select person_id, is_granted_latest from int_person_consents
            where purpose = 'marketing'
        ),
        -- their events must reach the segments: analytics granted
        analytics as (
            select person_id from int_person_consents
            where purpose = 'analytics' and is_granted_latest
        ),
        countries as (
            select persons.person_id, customers.country
            from int_persons as persons
            inner join int_customers_permitted as customers
                on persons.customer_id = customers.customer_id
        )
        select users.person_id, users.user_id, marketing.is_granted_latest, countries.country
        from users
        inner join marketing on users.person_id = marketing.person_id
        inner join countries on users.person_id = countries.person_id
        inner join analytics on users.person_id = analytics.person_id
        where users.user_id in (select user_id from stg_app__events where user_id is not null)
            -- no journey of their own yet: the crafted events alone decide what they get
            and users.person_id not in (select person_id from activation_outbox)
            and users.person_id not in (
                select person_id from customer_realtime_segments
                where is_cart_abandoner or is_high_intent_product_viewer)
        order by users.person_id""",
    )
    offset = offsets()
    awake = [
        r
        for r in rows
        if r[2] and not is_holdout(r[0]) and r[3] in offset and not is_quiet(created, offset[r[3]])
    ]
    night = [
        r
        for r in rows
        if r[2] and not is_holdout(r[0]) and r[3] in offset and is_quiet(created, offset[r[3]])
    ]
    refused = [r for r in rows if not r[2] and not is_holdout(r[0])]
    holdout = [r for r in rows if r[2] and is_holdout(r[0])]
    assert len(awake) >= 4 and night and refused and holdout, "the data lacks a crafted case"
    names = ["clicker", "buyer", "idle", "two_journeys"]
    picked = {name: {"person_id": row[0], "user_id": row[1]} for name, row in zip(names, awake)}
    for name, row in (("night", night[0]), ("refused", refused[0]), ("holdout", holdout[0])):
        picked[name] = {"person_id": row[0], "user_id": row[1], "country": row[3]}
    return picked


def write_events(raw: Path, name: str, rows: list[tuple[str, str, str, str | None]]) -> None:
    """One new events file: (event_id, user_id, event_type, occurred_at, product_id) rows, each a
    copy of one of the user's own events with these fields replaced."""
    source = f"read_parquet('{raw}/events/part-*.parquet')"
    selects = []
    for event_id, user_id, event_type, occurred_at, product_id in rows:
        product = f"'{product_id}'" if product_id else "null"
        selects.append(f"""
            select * replace (
                '{event_id}' as event_id, '{event_type}' as event_type,
                '{occurred_at}' as occurred_at, {product} as product_id)
            from (select * from {source} where user_id = '{user_id}'
                  order by event_id limit 1)""")
    duckdb.sql(
        f"copy ({' union all '.join(selects)}) to '{raw / 'events' / name}' (format parquet)"
    )


def at(clock, minutes: float) -> str:
    return (clock + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")


def journeys_stage(raw: Path, work: Path, db: Path, dbt_vars: dict) -> dict:
    """Step 4 of activation_harness: crafted events after the stream clock of the full build,
    landed file by file, each followed by the fast path; a replay; a last daily run."""
    [(clock,)] = query(db, "select max(evaluated_at) from customer_realtime_segments")
    picked = pick_persons(db, clock + timedelta(minutes=61))
    [(expensive,)] = query(db, "select min(product_id) from stg_shop__products where price > 150")
    [(other,)] = query(db, "select max(product_id) from stg_shop__products where price > 150")
    clicker, buyer, idle, two, night = (
        picked[n]["user_id"] for n in ("clicker", "buyer", "idle", "two_journeys", "night")
    )
    refused, holdout = picked["refused"]["user_id"], picked["holdout"]["user_id"]
    # batch 1: expensive carts 10 minutes after the clock; two_journeys also views one product
    # five times; the clock moves 61 minutes on (three events in that hour: the stream clock)
    batch1 = [
        (f"j1-cart-{i}", user, "add_to_cart", at(clock, 10), expensive)
        for i, user in enumerate([clicker, buyer, idle, two, refused, holdout, night])
    ]
    batch1 += [(f"j1-view-{i}", two, "product_view", at(clock, 12 + i), other) for i in range(5)]
    batch1 += [
        (f"j1-tick-{i}", clicker, "page_view", at(clock, 61 + i / 10), None) for i in range(3)
    ]
    # batch 2: the clicker clicks (no purchase); the buyer clicks and buys; 26 hours later the
    # clock moves on
    batch2 = [
        ("j2-click-a", clicker, "email_click", at(clock, 120), None),
        ("j2-click-b", buyer, "email_click", at(clock, 120), None),
        ("j2-buy-b", buyer, "purchase", at(clock, 180), expensive),
    ]
    batch2 += [
        (f"j2-tick-{i}", idle, "page_view", at(clock, 60 * 26 + i / 10), None) for i in range(3)
    ]
    runs = {}
    write_events(raw, "journeys-1.parquet", batch1)
    runs["batch1"] = run_dbt(REALTIME, raw, work, dbt_vars)
    runs["outbox1"] = query(db, "select * from activation_outbox order by message_id")
    write_events(raw, "journeys-2.parquet", batch2)
    runs["batch2"] = run_dbt(REALTIME, raw, work, dbt_vars)
    # the first file again under a new name (a replay), then the daily run sees everything
    shutil.copy(raw / "events" / "journeys-1.parquet", raw / "events" / "journeys-1-replay.parquet")
    runs["replay"] = run_dbt(REALTIME, raw, work, dbt_vars)
    runs["outbox2"] = query(db, "select * from activation_outbox order by message_id")
    runs["daily"] = run_dbt(["run", "--exclude", "resource_type:seed"], raw, work, dbt_vars)
    for name in ("batch1", "batch2", "replay", "daily"):
        assert runs[name].returncode == 0, f"{name}: {runs[name].failures()}"
    person_ids = {name: p["person_id"] for name, p in picked.items()}
    return {"db": db, "persons": person_ids, "runs": runs, "picked": picked}


@pytest.fixture(scope="module")
def journeys(activation_demo) -> dict:
    return activation_demo["journeys"]


def messages(db: Path, person_id: str) -> list[tuple]:
    return query(
        db,
        f"""select journey_id, step, channel from activation_outbox
                         where person_id = '{person_id}' order by journey_id, step""",
    )


def test_the_cart_email_goes_out_in_the_run_after_the_file_lands(journeys):
    db, persons = journeys["db"], journeys["persons"]
    outbox1 = {(row[2], row[3], row[1]) for row in journeys["runs"]["outbox1"]}
    for name in ("clicker", "buyer", "idle"):
        assert ("cart_recovery_discount", 1, persons[name]) in outbox1, name
    assert messages(db, persons["idle"]) == [("cart_recovery_discount", 1, "email")]


def test_the_24_hour_escalation_fires_only_for_clickers_without_a_purchase(journeys):
    db, persons = journeys["db"], journeys["persons"]
    assert messages(db, persons["clicker"]) == [
        ("cart_recovery_discount", 1, "email"),
        ("cart_recovery_discount", 2, "ad"),
    ]
    assert messages(db, persons["buyer"]) == [("cart_recovery_discount", 1, "email")]
    assert messages(db, persons["idle"]) == [("cart_recovery_discount", 1, "email")]
    reasons = query(
        db,
        f"""
        select reason from activation_suppressions
        where step = 2 and person_hash in (
            select person_hash from activation_journey_log where person_id = '{persons["buyer"]}')
        """,
    )
    assert reasons == [("goal_reached",)]


def test_no_message_for_refusers_the_holdout_or_deleted_persons(journeys):
    db, persons = journeys["db"], journeys["persons"]
    leaked = query(
        db,
        """
        select count(*) from activation_outbox as outbox
        inner join int_person_consents as consents
            on outbox.person_id = consents.person_id and consents.purpose = 'marketing'
        where not consents.is_granted_latest""",
    )[0][0]
    assert leaked == 0
    sent = [row[0] for row in query(db, "select distinct person_id from activation_outbox")]
    assert sent and not [p for p in sent if is_holdout(p)]
    deleted = query(
        db,
        """
        select count(*) from activation_journey_log
        where person_hash in (select person_hash from int_privacy_deleted_subjects)
            and decision = 'sent'""",
    )[0][0]
    assert deleted == 0
    # the crafted refuser and holdout person were considered and suppressed, by hash only
    for name, reason in (("refused", "no_marketing_consent"), ("holdout", "activation_holdout")):
        assert messages(db, persons[name]) == []
        [(count,)] = query(
            db,
            f"""
            select count(*) from activation_suppressions
            where journey_id = 'cart_recovery_discount' and reason = '{reason}'""",
        )
        assert count >= 1, name
    suppression_columns = {
        row[0]
        for row in query(
            db,
            """
        select column_name from information_schema.columns
        where table_name = 'activation_suppressions'""",
        )
    }
    assert "person_id" not in suppression_columns


def test_reruns_replays_and_the_daily_build_create_no_second_message(journeys):
    db, runs = journeys["db"], journeys["runs"]
    [(rows, ids)] = query(db, "select count(*), count(distinct message_id) from activation_outbox")
    assert rows == ids
    # the replay and the daily build decided nothing new about the episodes already decided
    outbox2 = {row[0] for row in runs["outbox2"]}
    final = {row[0] for row in query(db, "select message_id from activation_outbox")}
    assert outbox2 <= final
    [(log_rows, log_ids)] = query(
        db,
        """
        select count(*), count(distinct message_id) from activation_journey_log""",
    )
    assert log_rows == log_ids
    episodes = query(
        db,
        """
        select person_id, journey_id, step, count(*) from activation_outbox
        group by 1, 2, 3 having count(*) > 1""",
    )
    assert episodes == []


def test_frequency_caps_hold(journeys):
    db, persons = journeys["db"], journeys["persons"]
    # two_journeys qualified for the cart and the high-intent journeys within one hour: the cap
    # of one message a day sends the higher-priority journey only
    assert messages(db, persons["two_journeys"]) == [("cart_recovery_discount", 1, "email")]
    [(capped,)] = query(
        db,
        """
        select count(*) from activation_suppressions
        where journey_id = 'high_intent_discount' and reason = 'frequency_cap'""",
    )
    assert capped >= 1
    over = query(
        db,
        """
        select a.person_id, a.message_id from activation_outbox as a
        inner join activation_outbox as b
            on a.person_id = b.person_id and a.message_id <> b.message_id
            and b.due_at > a.due_at - interval 1 day and b.due_at <= a.due_at""",
    )
    assert over == []


def test_quiet_hours_defer_and_do_not_drop(journeys):
    db, picked = journeys["db"], journeys["picked"]
    night = picked["night"]
    rows = query(
        db,
        f"""
        select outbox.due_at, outbox.created_at, suppressions.reason, suppressions.deferred_to
        from activation_outbox as outbox
        inner join activation_suppressions as suppressions
            on outbox.message_id = suppressions.message_id
        where outbox.person_id = '{night["person_id"]}'
            and outbox.journey_id = 'cart_recovery_discount' and outbox.step = 1""",
    )
    # created in the person's local night: in the outbox, due at 08:00 local, and recorded
    assert len(rows) == 1
    due_at, created_at, reason, deferred_to = rows[0]
    local_due = due_at + timedelta(hours=offsets()[night["country"]])
    assert reason == "quiet_hours" and deferred_to == due_at and due_at > created_at
    assert (local_due.hour, local_due.minute) == (8, 0)
    # no e-mail of a person with a known offset is due in the local quiet hours
    [(quiet,)] = query(
        db,
        """
        select count(*) from activation_outbox as outbox
        inner join int_persons as persons on outbox.person_id = persons.person_id
        inner join int_customers_permitted as customers
            on persons.customer_id = customers.customer_id
        inner join activation_country_utc_offsets as offsets
            on customers.country = offsets.country
        where outbox.channel = 'email'
            and (hour(outbox.due_at + to_minutes(cast(offsets.utc_offset_hours * 60 as integer)))
                    not between 8 and 20)""",
    )
    assert quiet == 0
