"""Tests for python_utils.identity_eval on hand-made identity tables (no dbt): a DuckDB database
holding int_person_customers and int_identity_customer_links as the identity models will,
against hand-written truth and against the truth of a small generated dataset."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from python_utils.generator import GeneratorConfig, generate  # noqa: E402
from python_utils.identity_eval import (  # noqa: E402
    evaluate_identity,
    evaluate_outliers,
    format_identity_report,
    outlier_truth,
)


def write_truth(folder: Path, duplicates: list[tuple], near_misses: list[tuple]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    names = ("customer_id", "original_customer_id", "kind", "expected", "moved_order_count")
    pq.write_table(
        pa.table({n: [r[i] for r in duplicates] for i, n in enumerate(names)}),
        folder / "crm_duplicates.parquet",
    )
    names = ("group_id", "customer_id", "kind")
    pq.write_table(
        pa.table({n: [r[i] for r in near_misses] for i, n in enumerate(names)}),
        folder / "crm_near_misses.parquet",
    )
    return folder


def identity_db(
    persons: dict[str, list[str]], links: list[tuple] | None
) -> duckdb.DuckDBPyConnection:
    """An in-memory database with the two identity tables (links None: no links model)."""
    con = duckdb.connect()
    con.execute(
        "create table int_person_customers (person_id varchar, customer_id varchar, "
        "is_primary_customer boolean)"
    )
    for person, customers in persons.items():
        for i, customer in enumerate(sorted(customers)):
            con.execute(
                "insert into int_person_customers values (?, ?, ?)", [person, customer, i == 0]
            )
    if links is not None:
        con.execute(
            "create table int_identity_customer_links (link_type varchar, match_key_hash varchar, "
            "customer_id varchar, linked_customer_id varchar, customers_of_key integer, "
            "rejection_reason varchar)"
        )
        for link in links:
            con.execute(
                "insert into int_identity_customer_links values (?, ?, ?, ?, ?, ?)", list(link)
            )
    return con


@pytest.fixture()
def hand_truth(tmp_path: Path) -> Path:
    return write_truth(
        tmp_path / "truth",
        [
            ("G1", "C1", "email_case", "merge", 1),
            ("G2", "C2", "phone_format", "merge", 0),
            ("G3", "C3", "weak_evidence", "candidate", 2),
            ("G4", "C4", "email_case", "merge", 0),
        ],
        [
            ("family_same_address_0001", c, "family_same_address")
            for c in ("C10", "C11", "C12", "C13")
        ]
        + [("office_switchboard_0001", f"C2{i}", "office_switchboard") for i in range(6)],
    )


def test_recall_precision_and_persons_on_hand_made_tables(hand_truth: Path) -> None:
    persons = {
        "P1": ["C1", "G1"],  # merged: right
        "P2": ["C2"],
        "P3": ["G2"],  # a phone duplicate missed
        "P4": ["C3"],
        "P5": ["G3"],  # weak evidence kept apart: as it should
        "P6": ["C4", "G4"],
        "P10": ["C10", "C11"],
        "P12": ["C12"],  # a family merged wrongly; C13 is not in the db
        **{f"P2{i}": [f"C2{i}"] for i in range(6)},
        "P30": ["C30"],
    }
    links = [
        ("email", "h1", "G1", "C1", 2, None),
        ("email", "h4", "G4", "C4", 2, None),
        ("email", "h2", "C11", "C10", 2, None),  # a wrong accepted link
        ("phone", "h3", "C21", "C20", 6, "shared_phone"),  # rejected: not counted
    ]
    con = identity_db(persons, links)
    result = evaluate_identity(
        con, hand_truth, candidates_sql="select 'G3' as customer_id_a, 'C3' as customer_id_b"
    )
    assert result["customers"] == result["persons_before"] == 18
    assert result["persons_after"] == 15
    assert result["humans"] == 14  # C1/G1, C2/G2, C3/G3, C4/G4 are four humans of eight ids
    dups = result["duplicates"]
    assert list(dups) == ["email_case", "phone_format", "weak_evidence"]
    assert dups["email_case"] == {
        "expected": "merge",
        "pairs": 2,
        "evaluated": 2,
        "merged": 2,
        "recall": 1.0,
        "listed": 0,
        "candidate_recall": 0.0,
    }
    assert dups["phone_format"]["recall"] == 0.0
    assert dups["weak_evidence"]["merged"] == 0 and dups["weak_evidence"]["candidate_recall"] == 1.0
    assert result["merge_recall"] == pytest.approx(2 / 3)
    assert result["candidates_merged"] == 0.0
    near = result["near_misses"]
    # C13 is missing: of the family's 6 pairs, 3 are judged, of which C10-C11 is merged
    assert near["family_same_address"] == {
        "groups": 1,
        "pairs": 3,
        "kept_apart": 2,
        "precision": pytest.approx(2 / 3),
    }
    assert near["office_switchboard"] == {
        "groups": 1,
        "pairs": 15,
        "kept_apart": 15,
        "precision": 1.0,
    }
    assert result["near_miss_precision"] == pytest.approx(17 / 18)
    assert result["links"]["accepted"] == 3 and result["links"]["correct"] == 2
    assert result["links"]["by_type"] == {
        "email": {"accepted": 3, "correct": 2, "precision": pytest.approx(2 / 3)}
    }
    assert result["person_pairs"] == 3 and result["pair_precision"] == pytest.approx(2 / 3)
    assert result["missing_customers"] == 1
    report = format_identity_report(result)
    assert "persons before 18, after 15, true humans 14" in report
    assert "phone_format" in report and "near-miss precision  94.4%" in report
    assert "accepted CRM links 3" in report


def test_without_the_links_model_and_with_nothing_merged(hand_truth: Path) -> None:
    ids = ["C1", "G1", "C2", "G2", "C3", "G3", "C4", "G4", "C10", "C11", "C12", "C13"]
    con = identity_db({f"P{c}": [c] for c in ids}, links=None)
    result = evaluate_identity(con, hand_truth)
    assert result["links"] is None
    assert result["merge_recall"] == 0.0 and result["near_miss_precision"] == 1.0
    assert result["person_pairs"] == 0 and result["pair_precision"] is None
    assert "listed" not in result["duplicates"]["email_case"]
    assert "int_identity_customer_links is not in the database" in format_identity_report(result)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("identity_eval")
    cfg = GeneratorConfig(customers=600, days=20, seed=5, out=base / "raw", quiet=True)
    generate(cfg)
    return cfg.out, cfg.truth_dir


def resolved_by(raw: Path, person_sql: str) -> duckdb.DuckDBPyConnection:
    """A database whose int_person_customers puts each raw customer into the person
    ``person_sql`` (an expression over the raw customer row, then the smallest id) gives."""
    con = duckdb.connect()
    con.execute(f"create view customers as select * from read_parquet('{raw}/customers/*.parquet')")
    con.execute(f"""create table int_person_customers as
        select min(customer_id) over (partition by {person_sql}) as person_id, customer_id,
            customer_id = min(customer_id) over (partition by {person_sql}) as is_primary_customer
        from customers""")
    return con


def test_the_planted_truth_scores_a_perfect_and_a_naive_resolution(
    generated: tuple[Path, Path],
) -> None:
    raw, truth = generated
    # perfect: exactly the duplicates expected to merge join their originals
    con = resolved_by(
        raw,
        f"""coalesce((select original_customer_id from '{truth}/crm_duplicates.parquet' d
        where d.customer_id = customers.customer_id and d.expected = 'merge'), customer_id)""",
    )
    perfect = evaluate_identity(con, truth)
    assert perfect["merge_recall"] == 1.0 and perfect["candidates_merged"] == 0.0
    assert perfect["near_miss_precision"] == 1.0 and perfect["pair_precision"] == 1.0
    assert set(perfect["duplicates"]) == {
        "email_case",
        "gmail_dots",
        "plus_tag",
        "googlemail",
        "phone_format",
        "weak_evidence",
    }
    n_merge = sum(e["pairs"] for e in perfect["duplicates"].values() if e["expected"] == "merge")
    assert perfect["persons_after"] == perfect["customers"] - n_merge
    assert (
        perfect["humans"]
        == perfect["persons_after"] - perfect["duplicates"]["weak_evidence"]["pairs"]
    )
    # naive: the same trimmed, lower-case e-mail is one person, guards ignored
    naive = evaluate_identity(resolved_by(raw, "lower(trim(email))"), truth)
    assert naive["duplicates"]["email_case"]["recall"] == 1.0
    assert (
        naive["duplicates"]["gmail_dots"]["recall"]
        == naive["duplicates"]["phone_format"]["recall"]
        == 0.0
    )
    assert naive["near_misses"]["role_address"]["precision"] == 0.0
    assert naive["near_misses"]["reserved_domain"]["precision"] == 0.0
    assert naive["near_misses"]["family_same_address"]["precision"] == 1.0
    assert naive["near_miss_precision"] < 1.0 and naive["pair_precision"] < 1.0


def test_outlier_truth_and_recall_of_a_simple_rule(generated: tuple[Path, Path]) -> None:
    raw, truth = generated
    frame = outlier_truth(truth)
    assert list(frame.columns) == [
        "table",
        "event_id",
        "order_id",
        "product_id",
        "customer_id",
        "column_name",
        "value",
        "kind",
        "is_derived",
    ]
    assert len(frame) == pq.read_metadata(truth / "outliers.parquet").num_rows > 0
    con = duckdb.connect()
    con.execute(f"create view orders as select * from read_parquet('{raw}/orders/*.parquet')")
    con.execute(f"create view events as select * from read_parquet('{raw}/events/*.parquet')")
    flagged = """
        select 'orders' as "table", null as event_id, order_id, null as product_id,
            'total_amount' as column_name
        from orders where total_amount >= 100000
        union all
        select 'events', event_id, null, null, null from events where engaged_seconds >= 86400
    """
    result = evaluate_outliers(con, truth, flagged)
    planted = frame[~frame["is_derived"]]
    assert result["planted"] == planted["kind"].value_counts().sort_index().to_dict()
    assert result["recall_by_kind"]["extreme_order_total"] == 1.0
    assert result["recall_by_kind"]["extreme_engaged_seconds"] == 1.0  # flagged as whole rows
    assert result["recall_by_kind"]["extreme_quantity"] == 0.0  # planted on the line, not the order
    assert 0 < result["recall"] < 1
    derived_big = frame[
        frame["is_derived"] & (frame["table"] == "orders") & (frame["value"] >= 100000)
    ]
    assert result["found_derived"] == len(derived_big)
    # the test orders' absurd totals are flagged too, and are not planted outliers
    tests = con.execute(
        f"select count(*) from '{truth}/internal_accounts.parquet' where kind = 'test_order'"
    ).fetchone()[0]
    assert result["flagged_not_planted"] == tests > 0
