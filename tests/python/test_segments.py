"""Behaviour marts and segments on the dirty demo build, and customer_rfm against the reference
buy-till-you-die summary on real public transaction data."""

from __future__ import annotations

import csv
import subprocess
from decimal import Decimal

from dbt_harness import PROJECT_DIR, query, run_dbt, scalar

SNOWPARK_PYTHON = PROJECT_DIR / ".venv-snowpark" / "bin" / "python"


def test_customer_rfm_matches_the_btyd_reference_on_cdnow(tmp_path):
    """Every customer of the real CDNOW data (lifetimes' copy) gets, value for value, the
    frequency, recency, T and monetary value of lifetimes' summary_data_from_transaction_data."""
    raw = tmp_path / "raw"
    reference = tmp_path / "reference.csv"
    proc = subprocess.run(
        [
            str(SNOWPARK_PYTHON),
            str(PROJECT_DIR / "tests" / "reference" / "btyd_reference.py"),
            str(raw),
            str(reference),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    observation_end = proc.stdout.strip().splitlines()[-1]
    run = run_dbt(
        ["build", "--select", "+customer_rfm"],
        raw,
        tmp_path / "work",
        dbt_vars={"as_of": observation_end},
    )
    assert run.returncode == 0, run.output[-4000:]
    ours = {
        customer: (frequency, recency, t_days, monetary)
        for customer, frequency, recency, t_days, monetary in query(
            run.database,
            "select customer_id, btyd_frequency, btyd_recency_days, btyd_t_days, "
            "btyd_monetary_avg from customer_rfm",
        )
    }
    with reference.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 23570 == len(ours)
    mismatches = []
    for row in rows:
        frequency, recency, t_days, monetary = ours[row["customer_id"]]
        if (frequency, recency, t_days) != (
            int(float(row["frequency"])),
            int(float(row["recency"])),
            int(float(row["T"])),
        ) or abs(Decimal(str(monetary)) - Decimal(row["monetary_value"])) > Decimal("0.000001"):
            mismatches.append((row, (frequency, recency, t_days, monetary)))
    assert mismatches == [], mismatches[:5]


def test_segment_size_gate_fails_when_a_threshold_cannot_be_met(dirty_demo):
    """At the defaults the gates pass (the session build is green); a maximum share no segment
    can meet makes the binding business gate fail, and the log names the segment, its share,
    the threshold and the variable to change. With segment_test_severity = warn it only warns."""
    select = ["build", "--select", "business_gate_results"]
    run = run_dbt(
        select, dirty_demo["raw"], dirty_demo["root"] / "work", dbt_vars={"segment_max_share": 0.01}
    )
    assert run.returncode != 0
    failed = [
        r["unique_id"].split(".")[2] for r in run.results() if r["status"] in ("fail", "error")
    ]
    assert failed == ["business_gates_binding"], failed
    assert "Business gate failed (error): rule segment " in run.output
    assert "above segment_max_share 0.01: raise the var segment_max_share" in run.output
    model = [r for r in run.results() if r["unique_id"].startswith("model.")]
    assert [r["status"] for r in model] == ["success"]
    warned = run_dbt(
        select,
        dirty_demo["raw"],
        dirty_demo["root"] / "work",
        dbt_vars={"segment_max_share": 0.01, "segment_test_severity": "warn"},
    )
    assert warned.returncode == 0, warned.output[-3000:]
    statuses = {r["unique_id"].split(".")[2]: r["status"] for r in warned.results()}
    assert statuses["business_gates_informative"] == "warn"
    assert statuses["business_gates_binding"] == "pass"
    assert "Business gate failed (warn): rule segment " in warned.output


def test_identity_stitching_recovers_the_planted_devices(dirty_demo):
    """Every device the generator gave a customer (ground truth) that logged in lands on that
    customer's person."""
    truth = dirty_demo["truth"] / "identity_links.parquet"
    db = dirty_demo["db"]
    linked, wrong = query(
        db,
        f"""
        select
            count(*),
            count(*) filter (where device.person_id <> customer.person_id)
        from read_parquet('{truth}') as links
        inner join int_identity_links as seen
            on seen.anonymous_id = links.anonymous_id and seen.user_id = links.customer_id
        inner join int_identity_resolved as device
            on device.id_type = 'anonymous_id' and device.id_value = links.anonymous_id
        inner join int_identity_resolved as customer
            on customer.id_type = 'user_id' and customer.id_value = links.customer_id
        """,
    )[0]
    assert linked > 100
    assert wrong == 0
    two_devices = scalar(
        db,
        """select count(*) from (
            select person_id from int_identity_resolved where id_type = 'anonymous_id'
            group by 1 having count(*) >= 2)""",
    )
    assert two_devices > 10


def test_planted_personas_get_different_segment_mixes(dirty_demo):
    """The rule segments, RFM scores and engagement separate the planted personas."""
    truth = dirty_demo["truth"] / "personas.parquet"
    rows = query(
        dirty_demo["db"],
        f"""
        select
            personas.persona,
            avg(case when segments.is_discount_driven_buyer then 1.0 else 0.0 end),
            avg(case when segments.is_late_night_mobile_shopper then 1.0 else 0.0 end),
            avg(case when segments.rfm_segment = 'No Purchase' then 1.0 else 0.0 end),
            avg(segments.m_score),
            avg(segments.r_score),
            avg(segments.engagement_score)
        from read_parquet('{truth}') as personas
        inner join customer_segments as segments
            on segments.customer_id = personas.subject_id
        where personas.subject_type = 'customer'
        group by 1
        """,
    )
    stats = {
        row[0]: dict(
            zip(["discount", "late_night", "no_purchase", "m", "r", "engagement"], row[1:])
        )
        for row in rows
    }
    others = lambda persona: [v for k, v in stats.items() if k != persona]  # noqa: E731
    assert stats["bargain_hunter"]["discount"] > max(
        o["discount"] for o in others("bargain_hunter")
    )
    assert stats["late_night_mobile"]["late_night"] > max(
        o["late_night"] for o in others("late_night_mobile")
    )
    assert stats["loyal_high_spender"]["m"] > max(o["m"] for o in others("loyal_high_spender"))
    assert stats["lapsed"]["r"] < min(o["r"] for o in others("lapsed"))
    assert stats["lapsed"]["engagement"] < min(o["engagement"] for o in others("lapsed"))
    assert stats["window_shopper"]["no_purchase"] > stats["loyal_high_spender"]["no_purchase"]


def test_customer_segments_covers_every_person_without_pii(dirty_demo):
    db = dirty_demo["db"]
    persons = scalar(db, "select count(distinct person_id) from int_identity_resolved")
    assert scalar(db, "select count(*) from customer_segments") == persons > 0
    columns = {
        c
        for (c,) in query(
            db,
            "select column_name from information_schema.columns "
            "where table_name = 'customer_segments'",
        )
    }
    assert not columns & {
        "email",
        "phone",
        "email_hash",
        "phone_hash",
        "postal_code",
        "postal_code_prefix",
        "city",
        "name",
    }
    assert (
        scalar(
            db,
            "select count(*) from customer_segments where primary_rule_segment is null "
            "or content_block is null",
        )
        == 0
    )


def test_planted_crm_duplicates_merge_and_look_alikes_stay_apart(dirty_demo):
    """The generator's CRM twins of every exact-after-normalisation kind (e-mail case, Gmail
    dots, +tag, googlemail, phone format) are one person; twins with only weak evidence are not
    merged but listed for review; families at one address, office switchboards, role and
    reserved-domain addresses stay apart; every accepted CRM link joins one human."""
    import duckdb

    from python_utils.identity_eval import evaluate_identity

    with duckdb.connect(str(dirty_demo["db"]), read_only=True) as connection:
        result = evaluate_identity(connection, dirty_demo["truth"])
    duplicates = result["duplicates"]
    for kind in ("email_case", "gmail_dots", "plus_tag", "googlemail", "phone_format"):
        assert duplicates[kind]["evaluated"] >= 1, kind
        assert duplicates[kind]["recall"] == 1.0, (kind, duplicates[kind])
    weak = duplicates["weak_evidence"]
    assert weak["evaluated"] >= 1 and weak["merged"] == 0 and weak["candidate_recall"] == 1.0
    for kind in ("family_same_address", "office_switchboard", "role_address", "reserved_domain"):
        assert result["near_misses"][kind]["pairs"] >= 1, kind
        assert result["near_misses"][kind]["precision"] == 1.0, (kind, result["near_misses"][kind])
    assert result["links"]["accepted"] >= 5 and result["links"]["precision"] == 1.0
    assert result["persons_after"] < result["persons_before"]
    # every refused CRM link says why
    reasons = dict(
        query(
            dirty_demo["db"],
            "select rejection_reason, count(*) "
            "from int_identity_rejected_links "
            "where link_type in ('email', 'phone') group by 1",
        )
    )
    assert reasons.get("shared_email_address", 0) >= 1 and reasons.get("shared_phone", 0) >= 1


def test_a_merged_person_counts_once_with_all_its_orders(dirty_demo):
    """customer_rfm keeps one row per customer id (as the contract defines it), while the
    person-level RFM behind customer_segments combines all of a person's customer ids: for every
    person, its value and order count are the sums over its records. The generator's merged
    twins with orders are among them, and customer_segments lists both ids of each."""
    db = dirty_demo["db"]
    mismatches = query(
        db,
        """
        with per_person as (
            select bridge.person_id, sum(rfm.monetary_total) as total, sum(rfm.order_count) as orders
            from int_person_customers as bridge
            inner join customer_rfm as rfm on rfm.customer_id = bridge.customer_id
            group by 1
        )
        select count(*) filter (where person.monetary_total <> per_person.total
                                   or person.order_count <> per_person.orders
                                   or per_person.person_id is null),
               count(*)
        from int_person_rfm_scored as person
        full outer join per_person on per_person.person_id = person.person_id""",
    )[0]
    assert mismatches[0] == 0 and mismatches[1] > 50
    truth = dirty_demo["truth"] / "crm_duplicates.parquet"
    twins = query(
        db,
        f"""
        select duplicates.customer_id, duplicates.original_customer_id, segments.customer_ids
        from read_parquet('{truth}') as duplicates
        inner join customer_rfm as twin_rfm on twin_rfm.customer_id = duplicates.customer_id
        inner join int_person_customers as bridge on bridge.customer_id = duplicates.customer_id
        inner join customer_segments as segments on segments.person_id = bridge.person_id
        where duplicates.expected = 'merge'""",
    )
    assert twins, "no merged twin with orders of its own"
    for twin, original, customer_ids in twins:
        assert {twin, original} <= set(customer_ids.split(","))


def test_planted_outliers_are_flagged_not_quarantined(dirty_demo):
    """Every planted extreme (order total, quantity, unit price, engaged seconds) is flagged by
    the fences and stays accepted. Event revenue in cents (100 times the order's total) stays
    inside the purchase revenue fence: catching it needs a reconciliation with the order, which
    no per-column fence does."""
    import duckdb

    from python_utils.identity_eval import evaluate_outliers

    with duckdb.connect(str(dirty_demo["db"]), read_only=True) as connection:
        result = evaluate_outliers(connection, dirty_demo["truth"])
    for kind in (
        "extreme_order_total",
        "extreme_quantity",
        "extreme_unit_price",
        "extreme_engaged_seconds",
    ):
        assert result["planted"].get(kind, 0) >= 1 and result["recall_by_kind"][kind] == 1.0, kind
    planted_orders = query(
        dirty_demo["db"],
        f"""
        select count(*), count(staged.order_id)
        from read_parquet('{dirty_demo["truth"] / "outliers.parquet"}') as truth
        left join stg_shop__orders as staged on staged.order_id = truth.order_id
        where truth."table" = 'orders' and not truth.is_derived""",
    )[0]
    assert planted_orders[0] >= 1 and planted_orders[0] == planted_orders[1]
