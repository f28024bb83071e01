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
        [str(SNOWPARK_PYTHON), str(PROJECT_DIR / "tests" / "reference" / "btyd_reference.py"),
         str(raw), str(reference)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    observation_end = proc.stdout.strip().splitlines()[-1]
    run = run_dbt(["build", "--select", "+customer_rfm"], raw, tmp_path / "work",
                  dbt_vars={"as_of": observation_end})
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
            int(float(row["frequency"])), int(float(row["recency"])), int(float(row["T"]))
        ) or abs(Decimal(str(monetary)) - Decimal(row["monetary_value"])) > Decimal("0.000001"):
            mismatches.append((row, (frequency, recency, t_days, monetary)))
    assert mismatches == [], mismatches[:5]


def test_segment_size_gate_fails_when_a_threshold_cannot_be_met(dirty_demo):
    """At the defaults the gates pass (the session build is green); a maximum share no segment
    can meet makes the binding business gate fail, and the log names the segment, its share,
    the threshold and the variable to change. With segment_test_severity = warn it only warns."""
    select = ["build", "--select", "business_gate_results"]
    run = run_dbt(select, dirty_demo["raw"], dirty_demo["root"] / "work",
                  dbt_vars={"segment_max_share": 0.01})
    assert run.returncode != 0
    failed = [r["unique_id"].split(".")[2] for r in run.results()
              if r["status"] in ("fail", "error")]
    assert failed == ["business_gates_binding"], failed
    assert "Business gate failed (error): rule segment " in run.output
    assert "above segment_max_share 0.01: raise the var segment_max_share" in run.output
    model = [r for r in run.results() if r["unique_id"].startswith("model.")]
    assert [r["status"] for r in model] == ["success"]
    warned = run_dbt(select, dirty_demo["raw"], dirty_demo["root"] / "work",
                     dbt_vars={"segment_max_share": 0.01, "segment_test_severity": "warn"})
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
    stats = {row[0]: dict(zip(["discount", "late_night", "no_purchase", "m", "r", "engagement"],
                              row[1:])) for row in rows}
    others = lambda persona: [v for k, v in stats.items() if k != persona]  # noqa: E731
    assert stats["bargain_hunter"]["discount"] > max(o["discount"] for o in others("bargain_hunter"))
    assert stats["late_night_mobile"]["late_night"] > max(
        o["late_night"] for o in others("late_night_mobile"))
    assert stats["loyal_high_spender"]["m"] > max(o["m"] for o in others("loyal_high_spender"))
    assert stats["lapsed"]["r"] < min(o["r"] for o in others("lapsed"))
    assert stats["lapsed"]["engagement"] < min(o["engagement"] for o in others("lapsed"))
    assert stats["window_shopper"]["no_purchase"] > stats["loyal_high_spender"]["no_purchase"]


def test_customer_segments_covers_every_person_without_pii(dirty_demo):
    db = dirty_demo["db"]
    persons = scalar(db, "select count(distinct person_id) from int_identity_resolved")
    assert scalar(db, "select count(*) from customer_segments") == persons > 0
    columns = {c for (c,) in query(
        db, "select column_name from information_schema.columns "
            "where table_name = 'customer_segments'")}
    assert not columns & {"email", "phone", "email_hash", "phone_hash", "postal_code",
                          "postal_code_prefix", "city", "name"}
    assert scalar(db, "select count(*) from customer_segments where primary_rule_segment is null "
                      "or content_block is null") == 0
