"""Audiences for the ad and e-mail tools (audience_members, audience_changes, audience_sync_status,
export-audiences): who may be in them, the platforms' match keys, the segment expression, the
append-only diff and its shrink guard.

On the shared build of activation_harness (step 3): the full build (activation holdout share
raised to 0.3 so the holdout is visible in small audiences), a rebuild of the audience models on
unchanged data, a rebuild with the holdout at 0.7 (every audience loses more than half of its
members: the guard holds the deletes back), and the same with audience_max_delete_share 1 (the
deletes go through).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from activation_harness import in_holdout
from dbt_harness import PROJECT_DIR

DEMO_SALT = "segments-demo-salt"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def recorded_persons(rows: list[tuple]) -> dict[str, set[str]]:
    """The members the change log records: persons whose latest change keeps a current key."""
    latest: dict[tuple[str, str], int] = {}
    for number, audience_id, person_id, *_ in rows:
        latest[(audience_id, person_id)] = max(number, latest.get((audience_id, person_id), 0))
    recorded = defaultdict(set)
    for number, audience_id, person_id, _type, _key_type, _key, is_current in rows:
        if number == latest[(audience_id, person_id)] and is_current:
            recorded[audience_id].add(person_id)
    return recorded


@pytest.fixture(scope="module")
def audience_runs(activation_demo) -> dict:
    """The audience stage of the shared build (activation_harness)."""
    return activation_demo["audiences"]


def _definitions() -> dict[str, dict]:
    audiences: dict[str, dict] = defaultdict(
        lambda: {"include": set(), "require": set(), "exclude": set()}
    )
    with (PROJECT_DIR / "seeds" / "audience_definitions.csv").open() as handle:
        for row in csv.DictReader(handle):
            audience = audiences[row["audience_id"]]
            audience["destination_id"] = row["destination_id"]
            audience[row["clause"]].add((row["segment_family"], row["segment_name"]))
    return dict(audiences)


def _contactable(runs: dict, person_id: str, share: float = 0.3) -> bool:
    return (
        runs["consents"].get(person_id) is True
        and not in_holdout(person_id, share)
        and sha256(DEMO_SALT + person_id) not in runs["deleted_hashes"]
    )


def _expression_members(runs: dict) -> dict[str, set[str]]:
    held = defaultdict(set)
    for person_id, family, name in runs["memberships"]:
        held[person_id].add((family, name))
    return {
        audience_id: {
            person
            for person, segments in held.items()
            if segments & spec["include"]
            and spec["require"] <= segments
            and not segments & spec["exclude"]
        }
        for audience_id, spec in _definitions().items()
    }


def test_only_contactable_persons_are_members(audience_runs):
    members = {row[3] for row in audience_runs["members"]}
    assert members, "no audience member at all: the test data is too small"
    refused = {p for p, granted in audience_runs["consents"].items() if not granted}
    assert not members & refused
    assert not [p for p in members if p not in audience_runs["consents"]]
    assert not [p for p in members if in_holdout(p, 0.3)]
    assert not [p for p in members if sha256(DEMO_SALT + p) in audience_runs["deleted_hashes"]]
    # the rules had something to keep out: refused and held-out persons hold audience segments
    candidates = set().union(*_expression_members(audience_runs).values())
    assert candidates & refused
    assert [p for p in candidates if in_holdout(p, 0.3) and audience_runs["consents"].get(p)]


def test_membership_follows_include_require_exclude(audience_runs):
    expected = _expression_members(audience_runs)
    keys_by_person = defaultdict(set)
    for person_id, customer_id, email, e164, digits, is_shared in audience_runs["person_keys"]:
        keys_by_person[person_id].add(("customer_id", customer_id))
        if email and not is_shared:
            keys_by_person[person_id].add(("email_sha256", email))
        for key_type, value in (("phone_e164_sha256", e164), ("phone_digits_sha256", digits)):
            if value:
                keys_by_person[person_id].add((key_type, value))
    actual = defaultdict(set)
    actual_keys = defaultdict(set)
    for audience_id, _destination_id, _platform, person_id, key_type, key, _at in audience_runs[
        "members"
    ]:
        actual[audience_id].add(person_id)
        actual_keys[(audience_id, person_id)].add((key_type, key))
    definitions = _definitions()
    assert set(actual) <= set(definitions)
    non_empty = 0
    for audience_id, spec in definitions.items():
        taken = set(audience_runs["destinations"][spec["destination_id"]].split())
        want = {
            p
            for p in expected[audience_id]
            if _contactable(audience_runs, p) and {t for t, _ in keys_by_person[p]} & taken
        }
        assert actual[audience_id] == want, audience_id
        for person_id in want:
            assert actual_keys[(audience_id, person_id)] == {
                (t, k) for t, k in keys_by_person[person_id] if t in taken
            }
        non_empty += bool(want)
    assert non_empty >= 2
    # a require or exclude clause really narrowed some audience down
    held = defaultdict(set)
    for person_id, family, name in audience_runs["memberships"]:
        held[person_id].add((family, name))
    narrowed = [
        audience_id
        for audience_id, spec in definitions.items()
        if {p for p, s in held.items() if s & spec["include"]} - expected[audience_id]
    ]
    assert narrowed


def test_match_keys_are_the_platforms_unsalted_sha256(audience_runs):
    customers = duckdb.sql(
        f"select customer_id, email, phone from read_parquet('{audience_runs['raw']}/customers/*')"
    ).fetchall()
    known = [
        (c, e, p)
        for c, e, p in customers
        if e
        and p
        and p.startswith("+")
        and re.fullmatch(r"\+[0-9 ]+", p)
        and "." in e.split("@")[0]
    ][:5]
    assert len(known) == 5
    rows = {row[1]: row for row in audience_runs["person_keys"]}
    checked = 0
    for customer_id, email, phone in known:
        if customer_id not in rows:
            continue  # deleted or quarantined
        _person, _customer, email_key, e164_key, digits_key, _shared = rows[customer_id]
        digits = re.sub(r"\D", "", phone)
        assert email_key == sha256(email.strip().lower())  # Meta and Google: dots kept
        assert e164_key == sha256("+" + digits)  # Google: E.164 with '+'
        assert digits_key == sha256(digits)  # Meta: digits, country code, no '+'
        checked += 1
    assert checked >= 3
    raw_emails = {sha256(e.strip().lower()) for _c, e, _p in customers if e}
    email_keys = {row[5] for row in audience_runs["members"] if row[4] == "email_sha256"}
    assert email_keys and email_keys <= raw_emails


def test_unsalted_email_hashes_stay_in_the_audience_marts(audience_runs):
    """The PII scanner (test_pii) looks for raw values; an unsalted hash of an e-mail is
    reversible with a list of addresses, so here: no other mart holds one."""
    customers = duckdb.sql(
        f"select email from read_parquet('{audience_runs['raw']}/customers/*')"
    ).fetchall()
    hashes = sorted({sha256(e.strip().lower()) for (e,) in customers if e})
    marts = [
        node["name"]
        for node in audience_runs["manifest"]["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
    ]
    holding = {}
    with duckdb.connect(str(audience_runs["db"]), read_only=True) as connection:
        connection.execute(
            "create temp table email_sha as select unnest(?::varchar[]) as h", [hashes]
        )
        for name in marts:
            columns = connection.execute(
                "select column_name from information_schema.columns where table_name = ?"
                " and data_type = 'VARCHAR'",
                [name],
            ).fetchall()
            for (column,) in columns:
                count = connection.execute(
                    f'select count(*) from "{name}" where "{column}" in (select h from email_sha)'
                ).fetchone()[0]
                if count:
                    holding[f"{name}.{column}"] = count
    assert set(holding) == {"audience_members.match_key", "audience_changes.match_key"}, holding


def test_the_first_build_inserts_every_member_and_a_rerun_appends_nothing(audience_runs):
    first = audience_runs["changes"]
    assert {row[0] for row in first} == {1} and {row[3] for row in first} == {"insert"}
    members = {(row[0], row[3], row[4], row[5]) for row in audience_runs["members"]}
    assert {(row[1], row[2], row[4], row[5]) for row in first} == members
    assert sorted(audience_runs["after_rerun"]) == sorted(first)


def test_the_shrink_guard_holds_deletes_back(audience_runs):
    before = recorded_persons(audience_runs["after_rerun"])
    shrink = audience_runs["after_shrink"]
    # a build that appends nothing takes no change number: the shrink build's rows, if any, are 2
    rows = [row for row in shrink["changes"] if row[0] == 2]
    held_back = set()
    for audience_id, recorded in before.items():
        leaving = recorded - shrink["members"].get(audience_id, set())
        assert leaving == {p for p in recorded if in_holdout(p, 0.7)}
        deleted = {row[2] for row in rows if row[1] == audience_id and row[3] == "delete"}
        status = shrink["status"][audience_id]
        if len(leaving) > 0.5 * len(recorded):
            held_back.add(audience_id)
            assert deleted == set()
            assert status[3] == len(leaving) and status[4] is True
            assert status[1] == len(recorded)
        else:
            assert deleted == leaving and status[4] is False
    assert held_back, "no audience shrank by more than half: the guard was not exercised"
    warned = [r for r in shrink["results"] if "audience_deletes_not_held_back" in r["unique_id"]]
    assert [r["status"] for r in warned] == ["warn"]
    # raising the share lets the deletes through: the log's state equals the audiences again
    released = audience_runs["after_release"]
    last_before = max(row[0] for row in shrink["changes"])
    release_rows = [row for row in released["changes"] if row[0] > last_before]
    assert {row[0] for row in release_rows} == {last_before + 1}
    assert {row[1] for row in release_rows if row[3] == "delete"} == held_back
    assert all(not row[6] for row in release_rows)
    assert recorded_persons(released["changes"]) == {
        a: p for a, p in released["members"].items() if p
    }
    assert released["held_back"] == 0


def test_export_writes_one_file_per_audience_byte_identical(audience_runs):
    first, second = audience_runs["first_files"], audience_runs["second_files"]
    assert first == second
    expected = {
        Path(spec["destination_id"]) / f"{audience_id}.csv"
        for audience_id, spec in _definitions().items()
    }
    assert set(first) == expected | {Path("manifest.json")}
    by_audience = defaultdict(int)
    for row in audience_runs["members"]:
        by_audience[Path(row[1]) / f"{row[0]}.csv"] += 1
    for path in expected:
        lines = first[path].decode().splitlines()
        assert lines[0] == "person_id,match_key_type,match_key"
        assert len(lines) - 1 == by_audience[path]
        assert lines[1:] == sorted(lines[1:])
