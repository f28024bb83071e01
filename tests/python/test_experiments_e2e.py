"""Experiment readouts end to end: the generator plants known effects (free shipping lifts
prospects' conversion, by persona; a one-page checkout lifts everyone; a null recommendation
test and a null express checkout; a deliberately broken 60/40 split), a real dbt build reads
them out, and the readouts are judged against the ground truth the models never read:

- every true effect (the sample average of the units' potential-outcome differences, over the
  units the readout counts) lies inside its 95% interval;
- the null experiment is not significant after the correction, the planted one is;
- the broken split is flagged, overall and in its segments, the others are not;
- a breakdown by the segment a unit is in *now* (after the treatment moved it) is biased, the
  pre-assignment breakdown is not;
- persons seen in two variants, deleted persons and persons without analytics consent are not
  units, and the excluded are counted;
- segment_kpis_daily replaces a rebuilt day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dbt_harness import NO_UNIT_TESTS, generate, query, run_dbt
from python_utils import experiments as ex

GENERATE = ("--customers", "6000", "--days", "90", "--seed", "12")
SELECT = ["--select", "+experiment_readouts", "+experiment_exposure_summary", "+segment_kpis_daily"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("experiments")
    raw, truth = root / "raw", root / "ground_truth"
    generate(raw, *GENERATE, "--truth-out", str(truth))
    work = root / "work"
    run = run_dbt(["build", *NO_UNIT_TESTS, *SELECT], raw, work)
    assert run.returncode == 0, run.output[-4000:]
    return {"raw": raw, "truth": truth, "db": run.database, "run": run, "work": work}


def kpi_rows(database) -> list[tuple]:
    return query(database, "select * from segment_kpis_daily order by all")


def frame(database, sql: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).df()


TRUE_EFFECTS = """
with potential as (
    select resolved.person_id, truth.experiment_id, truth.potential_variant,
        max(case when truth.converted then 1 else 0 end) as converted,
        sum(truth.revenue) as revenue
    from read_parquet('{truth}/experiments.parquet') as truth
    inner join int_identity_resolved as resolved
        on resolved.id_type = 'user_id' and resolved.id_value = truth.subject_id
    group by all
),
differences as (
    select arm.person_id, arm.experiment_id, arm.potential_variant as variant,
        arm.converted - control.converted as conversion,
        arm.revenue - control.revenue as revenue_per_unit
    from potential as arm
    inner join potential as control
        on arm.person_id = control.person_id and arm.experiment_id = control.experiment_id
            and control.potential_variant = 'control'
    where arm.potential_variant != 'control'
),
units as (
    select * from experiment_units where is_unit and is_window_complete
),
segmented as (
    select experiment_id, 'all' as segment_family, 'all' as segment_name, person_id from units
    union all
    select experiment_id, 'buyer_status_at_assignment', buyer_status_at_assignment, person_id
    from units
    union all
    select experiment_id, 'buyer_status_now',
        case when exists (select 1 from int_person_orders as o where o.person_id = units.person_id
                          and o.status = 'completed') then 'buyer_now' else 'prospect_now' end,
        person_id
    from units
),
arms as (
    select distinct experiment_id, variant from experiment_units
    where variant not in ('control', 'holdout', 'activated')
)
-- units outside the truth (anonymous persons) have the same outcome in every arm: zero effect
select segmented.experiment_id, arms.variant, segmented.segment_family, segmented.segment_name,
    count(*) as units, avg(coalesce(differences.conversion, 0)) as conversion,
    avg(coalesce(differences.revenue_per_unit, 0)) as revenue_per_unit
from segmented
inner join arms on segmented.experiment_id = arms.experiment_id
left join differences
    on segmented.person_id = differences.person_id
        and segmented.experiment_id = differences.experiment_id
        and arms.variant = differences.variant
group by all
"""


@pytest.fixture(scope="module")
def judged(built) -> pd.DataFrame:
    """Readout rows (treatment arms; families all and buyer status) with their true effect."""
    truth = frame(built["db"], TRUE_EFFECTS.format(truth=built["truth"]))
    truth = truth.melt(
        id_vars=["experiment_id", "variant", "segment_family", "segment_name", "units"],
        value_vars=["conversion", "revenue_per_unit"],
        var_name="metric",
        value_name="true_effect",
    )
    readouts = frame(
        built["db"],
        """
        select *, sum(units) over (partition by experiment_id, segment_family, segment_name,
                                   metric) as all_arm_units
        from experiment_readouts""",
    )
    readouts = readouts[~readouts["is_control"]]
    merged = readouts.merge(
        truth,
        on=["experiment_id", "variant", "segment_family", "segment_name", "metric"],
        suffixes=("", "_truth"),
    )
    assert len(merged) == 5 * 3 * 2  # 5 arms x (all, prospect, returning buyer) x 2 metrics
    assert (merged["all_arm_units"] == merged["units_truth"]).all()  # the same units
    return merged


def test_every_true_effect_lies_inside_its_interval(judged):
    table = judged[
        [
            "experiment_id",
            "variant",
            "segment_name",
            "metric",
            "units",
            "true_effect",
            "abs_lift",
            "abs_lift_ci_low",
            "abs_lift_ci_high",
            "cuped_abs_lift_ci_low",
            "cuped_abs_lift_ci_high",
            "p_value_adjusted",
        ]
    ]
    print("\n" + table.round(4).to_string())
    inside = (judged["abs_lift_ci_low"] <= judged["true_effect"]) & (
        judged["true_effect"] <= judged["abs_lift_ci_high"]
    )
    inside_cuped = (judged["cuped_abs_lift_ci_low"] <= judged["true_effect"]) & (
        judged["true_effect"] <= judged["cuped_abs_lift_ci_high"]
    )
    assert inside.all(), table[~inside].to_string()
    assert inside_cuped.all(), table[~inside_cuped].to_string()
    planted = judged[(judged["metric"] == "conversion") & (judged["true_effect"] > 0.01)]
    # free shipping (all, prospects) and the one-page checkout (all, prospects, buyers)
    assert len(planted) >= 4


def test_planted_effects_are_found_and_null_experiments_are_not(judged, built):
    conversion = judged[judged["metric"] == "conversion"].set_index(
        ["experiment_id", "variant", "segment_name"]
    )
    assert conversion.loc[("exp_free_shipping_banner", "treatment", "prospect"), "is_significant"]
    assert conversion.loc[("exp_free_shipping_banner", "treatment", "all"), "is_significant"]
    assert not conversion.loc[
        ("exp_free_shipping_banner", "treatment", "returning_buyer"), "is_significant"
    ]  # free shipping does nothing for loyal buyers
    assert conversion.loc[("exp_checkout_redesign", "one_page", "all"), "is_significant"]
    # the null experiment and the null arm: nothing significant after the correction, in any
    # family or metric
    nulls = frame(
        built["db"],
        """
        select * from experiment_readouts
        where not is_control and not is_suppressed
            and (experiment_id = 'exp_reco_carousel' or variant = 'express')""",
    )
    assert len(nulls) > 20 and nulls["p_value_adjusted"].notna().all()
    assert (nulls["p_value_adjusted"] >= 0.05).all(), nulls.loc[
        nulls["p_value_adjusted"] < 0.05, ["experiment_id", "segment_name", "metric", "p_value"]
    ]
    assert (nulls["adjustment_method"] == "holm").all()


def test_the_broken_split_is_flagged_overall_and_in_its_segments(built):
    srm = frame(
        built["db"],
        """
        select experiment_id, segment_family, segment_name, min(srm_p_value) as srm_p_value,
            bool_or(is_srm) as is_srm, max(assigned_units) as largest_arm
        from experiment_readouts group by all""",
    )
    overall = srm[srm["segment_family"] == "all"].set_index("experiment_id")
    assert overall.loc["exp_price_anchor", "is_srm"]
    assert overall.loc["exp_price_anchor", "srm_p_value"] < 1e-10
    assert not overall.drop(index="exp_price_anchor")["is_srm"].any()
    broken = srm[(srm["experiment_id"] == "exp_price_anchor") & (srm["largest_arm"] > 500)]
    assert broken["is_srm"].all()  # every large segment of it shows the broken split
    # the build warns about it (a warn test, not a failure)
    warned = [
        r
        for r in built["run"].results()
        if "experiment_sample_ratio_matches_design" in r["unique_id"]
    ]
    assert warned and warned[0]["status"] == "warn"


def test_a_segment_the_treatment_changes_biases_the_breakdown(judged, built):
    """Free shipping turns prospects into buyers. Broken down by buyer status *now*, the
    treated arm has lost its converted prospects to the buyers: the 'prospect_now' estimate is
    zero against a positive true effect, and the arms no longer split 50/50 inside the
    segments. Broken down by buyer status at assignment, the estimate covers the truth."""
    units = frame(
        built["db"],
        """
        select variant, has_converted, pre_has_converted,
            case when exists (select 1 from int_person_orders as o
                              where o.person_id = u.person_id and o.status = 'completed')
                then 'buyer_now' else 'prospect_now' end as segment_name
        from experiment_units as u
        where experiment_id = 'exp_free_shipping_banner' and is_unit and is_window_complete""",
    )
    cells = []
    for (variant, segment), group in units.groupby(["variant", "segment_name"]):
        y = group["has_converted"].to_numpy(float)
        x = group["pre_has_converted"].to_numpy(float)
        cells.append(
            {
                "experiment_id": "e",
                "variant": variant,
                "is_control": variant == "control",
                "segment_family": "buyer_status_now",
                "segment_name": segment,
                "metric": "conversion",
                "metric_kind": "proportion",
                "assigned_units": len(y),
                "units": len(y),
                "sum_y": y.sum(),
                "sum_y2": (y * y).sum(),
                "sum_x": x.sum(),
                "sum_x2": (x * x).sum(),
                "sum_xy": (x * y).sum(),
                "design_weight": 1.0,
            }
        )
    now = ex.readout(pd.DataFrame(cells))
    now = now[~now["is_control"]].set_index("segment_name")
    truth = frame(built["db"], TRUE_EFFECTS.format(truth=built["truth"]))
    truth = truth[
        (truth["experiment_id"] == "exp_free_shipping_banner")
        & (truth["segment_family"] == "buyer_status_now")
    ].set_index("segment_name")
    prospect_now = now.loc["prospect_now"]
    print(
        f"\nbuyer status now: lift {prospect_now['abs_lift']:.4f} "
        f"[{prospect_now['abs_lift_ci_low']:.4f}, {prospect_now['abs_lift_ci_high']:.4f}] "
        f"against a true effect of {truth.loc['prospect_now', 'conversion']:.4f}"
    )
    assert prospect_now["abs_lift"] == 0  # nobody who converted is a prospect now
    assert truth.loc["prospect_now", "conversion"] > 0.02
    assert not (
        prospect_now["abs_lift_ci_low"]
        <= truth.loc["prospect_now", "conversion"]
        <= prospect_now["abs_lift_ci_high"]
    )
    # pre-assignment: inside (the same truth construction)
    at = judged[
        (judged["experiment_id"] == "exp_free_shipping_banner")
        & (judged["metric"] == "conversion")
        & (judged["segment_family"] == "buyer_status_at_assignment")
    ]
    assert (
        (at["abs_lift_ci_low"] <= at["true_effect"]) & (at["true_effect"] <= at["abs_lift_ci_high"])
    ).all()
    # the treatment moved units: the treated share of current prospects fell
    shares = units.groupby("segment_name")["variant"].apply(lambda v: (v == "treatment").mean())
    overall = (units["variant"] == "treatment").mean()
    assert shares["prospect_now"] < overall < shares["buyer_now"]


def test_excluded_persons_are_counted_and_never_units(built):
    db = built["db"]
    summary = frame(db, "select * from experiment_exposure_summary").set_index("experiment_id")
    assert set(summary.index) == {
        "exp_checkout_redesign",
        "exp_free_shipping_banner",
        "exp_reco_carousel",
        "exp_price_anchor",
        "activation_holdout",
    }
    # the planted multiple exposures (0.4% of units, 2% for the recommendation test)
    assert (summary.drop(index="activation_holdout")["multiple_variant_person_count"] > 0).all()
    assert summary.loc["exp_reco_carousel", "multiple_exposure_share"] > 0.01
    assert summary.loc["exp_reco_carousel", "is_multiple_exposure_high"]
    assert summary.loc["exp_free_shipping_banner", "multiple_exposure_share"] < 0.01
    warned = [
        r
        for r in built["run"].results()
        if "experiment_multiple_exposure_below_warning" in r["unique_id"]
    ]
    assert warned and warned[0]["status"] == "warn"
    # a person with two variants is one excluded row, whatever ids the assignments were on
    two = query(
        db,
        """
        select count(*) from experiment_units
        where variant_count > 1 and (is_unit or exclusion_reason != 'multiple_variants')""",
    )
    assert two == [(0,)]
    # no unit without analytics consent; the refused are counted
    assert query(
        db,
        """
        select count(*) from experiment_units as u
        inner join int_person_consents as c
            on u.person_id = c.person_id and c.purpose = 'analytics'
        where u.is_unit and not c.is_granted""",
    ) == [(0,)]
    assert (summary["no_analytics_consent_person_count"] > 0).all()
    # deleted subjects are nowhere
    raw = built["raw"]
    assert query(
        db,
        f"""
        select count(*) from experiment_units as u
        inner join int_identity_resolved as r on u.person_id = r.person_id
        where r.id_value in (select subject_id from
                             read_parquet('{raw}/deletion_requests/*.parquet'))""",
    ) == [(0,)]
    deleted_assigned = query(
        db,
        f"""
        select count(*) from read_parquet('{raw}/experiment_assignments/*.parquet')
        where subject_id in (select subject_id from
                             read_parquet('{raw}/deletion_requests/*.parquet'))""",
    )[0][0]
    assert deleted_assigned > 0  # the check above is not vacuous
    # every unit is counted once in its experiment's cells (family all, one metric)
    cells = frame(
        db,
        """
        select experiment_id, sum(assigned_units) as assigned, sum(units) as units
        from experiment_readout_cells
        where segment_family = 'all' and metric = 'conversion' group by 1""",
    ).set_index("experiment_id")
    for experiment, row in summary.iterrows():
        assert cells.loc[experiment, "assigned"] == row["unit_count"]
        assert cells.loc[experiment, "units"] == row["complete_unit_count"]
        assert row["pending_unit_count"] == row["unit_count"] - row["complete_unit_count"]


def test_the_activation_holdout_is_read_out_as_an_experiment(built):
    holdout = frame(
        built["db"],
        """
        select * from experiment_readouts where experiment_id = 'activation_holdout'""",
    )
    control = holdout[holdout["is_control"]]
    assert set(control["variant"]) == {"holdout"}
    activated = holdout[(holdout["variant"] == "activated") & (holdout["segment_family"] == "all")]
    assert set(activated["metric"]) == {"conversion", "revenue_per_unit", "sessions_per_unit"}
    assert activated["abs_lift"].notna().all() and activated["p_value"].notna().all()
    # designed 5/95: the holdout is not a sample-ratio mismatch
    assert not activated["is_srm"].any()
    share = control.loc[control["segment_family"] == "all", "assigned_units"].iloc[0] / (
        activated["assigned_units"].iloc[0]
        + control.loc[control["segment_family"] == "all", "assigned_units"].iloc[0]
    )
    assert 0.03 < share < 0.07


def test_segment_kpis_replace_a_rebuilt_day(built):
    """A second build of the same as_of replaces its day (test_incremental.py proves that a
    later day is added and the earlier one kept)."""
    db = built["db"]
    days = query(db, "select distinct kpi_date from segment_kpis_daily")
    assert [str(d) for (d,) in days] == ["2026-06-30"]
    before = kpi_rows(db)
    again = run_dbt(
        ["build", *NO_UNIT_TESTS, "--select", "segment_kpis_daily"], built["raw"], built["work"]
    )
    assert again.returncode == 0, again.output[-3000:]
    assert kpi_rows(db) == before  # replaced, not appended
    families = {f for (f,) in query(db, "select distinct segment_family from segment_kpis_daily")}
    assert {"all", "rfm", "engagement_tier", "primary_rule"} <= families
    totals = query(db, "select member_count from segment_kpis_daily where segment_family = 'all'")
    assert totals[0][0] > 1000
    rates = np.array(
        query(
            db, "select conversion_rate from segment_kpis_daily where conversion_rate is not null"
        ),
        float,
    )
    assert ((rates >= 0) & (rates <= 1)).all() and rates.max() > 0
