"""The experiment statistics (python_utils/experiments.py) against scipy and statsmodels on
golden cases, and by simulation: A/A false-positive rates, interval coverage, Holm's family-
wise error across segments and arms, the sample-ratio check, CUPED and k-anonymity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.proportion import test_proportions_2indep as proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from python_utils import experiments as ex


def cell_rows(
    experiment_id,
    arms,
    kind,
    *,
    family="all",
    segment="all",
    metric="m",
    control="control",
    weights=None,
    assigned=None,
):
    """Cells from unit-level data: arms = {variant: (y, x)}."""
    rows = []
    for variant, (y, x) in arms.items():
        y, x = np.asarray(y, float), np.asarray(x, float)
        rows.append(
            {
                "experiment_id": experiment_id,
                "variant": variant,
                "is_control": variant == control,
                "segment_family": family,
                "segment_name": segment,
                "metric": metric,
                "metric_kind": kind,
                "units": len(y),
                "assigned_units": len(y) if assigned is None else assigned[variant],
                "sum_y": y.sum(),
                "sum_y2": (y * y).sum(),
                "sum_x": x.sum(),
                "sum_x2": (x * x).sum(),
                "sum_xy": (x * y).sum(),
                "design_weight": 1.0 if weights is None else weights[variant],
            }
        )
    return rows


def one(frame, variant="treatment"):
    return frame[frame["variant"] == variant].iloc[0]


# --------------------------------------------------------------------------- #
# golden cases
# --------------------------------------------------------------------------- #


def test_welch_matches_scipy_and_statsmodels():
    rng = np.random.default_rng(1)
    c = rng.gamma(0.8, 40.0, 700)
    t = rng.gamma(0.8, 46.0, 520)
    out = one(
        ex.readout(
            pd.DataFrame(cell_rows("e", {"control": (c, c * 0), "treatment": (t, t * 0)}, "mean"))
        )
    )
    ref = stats.ttest_ind(t, c, equal_var=False)
    low, high = CompareMeans(DescrStatsW(t), DescrStatsW(c)).tconfint_diff(usevar="unequal")
    assert out["abs_lift"] == pytest.approx(t.mean() - c.mean(), rel=1e-12)
    assert out["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert out["abs_lift_ci_low"] == pytest.approx(low, rel=1e-9)
    assert out["abs_lift_ci_high"] == pytest.approx(high, rel=1e-9)
    assert out["value"] == pytest.approx(t.mean()) and out["control_value"] == pytest.approx(
        c.mean()
    )
    assert out["rel_lift"] == pytest.approx(t.mean() / c.mean() - 1)


def test_two_proportions_match_statsmodels_wald():
    c = np.r_[np.ones(130), np.zeros(870)]
    t = np.r_[np.ones(171), np.zeros(929)]
    out = one(
        ex.readout(
            pd.DataFrame(
                cell_rows("e", {"control": (c, c * 0), "treatment": (t, t * 0)}, "proportion")
            )
        )
    )
    ref = proportions_2indep(171, 1100, 130, 1000, method="wald", compare="diff")
    low, high = confint_proportions_2indep(171, 1100, 130, 1000, method="wald", compare="diff")
    assert out["abs_lift"] == pytest.approx(171 / 1100 - 0.13, rel=1e-12)
    assert out["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert out["abs_lift_ci_low"] == pytest.approx(low, rel=1e-9)
    assert out["abs_lift_ci_high"] == pytest.approx(high, rel=1e-9)


def test_minimum_detectable_effect_matches_statsmodels_power():
    n_c, n_t, var_c = 1200, 800, 0.13 * 0.87
    mde = ex.minimum_detectable_effect(n_c, var_c, n_t, alpha=0.05, power=0.8)
    d = NormalIndPower().solve_power(
        effect_size=None, nobs1=n_c, ratio=n_t / n_c, alpha=0.05, power=0.8, alternative="two-sided"
    )
    assert float(mde) == pytest.approx(d * np.sqrt(var_c), rel=1e-4)


def test_holm_and_bh_match_statsmodels():
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.0125, np.nan, 0.7])
    ok = ~np.isnan(p)
    for ours, method in ((ex.holm, "holm"), (ex.benjamini_hochberg, "fdr_bh")):
        got = ours(p)
        assert np.isnan(got[5])
        np.testing.assert_allclose(got[ok], multipletests(p[ok], method=method)[1], rtol=1e-12)


def test_srm_matches_scipy_chisquare():
    observed, weights = np.array([5120, 4880, 2000]), np.array([2.0, 2.0, 1.0])
    expected = observed.sum() * weights / weights.sum()
    assert ex.srm_p_value(observed, weights) == pytest.approx(
        stats.chisquare(observed, expected).pvalue, rel=1e-12
    )


def test_cuped_equals_the_ancova_treatment_effect():
    rng = np.random.default_rng(7)
    x_c, x_t = rng.gamma(1.0, 30.0, 900), rng.gamma(1.0, 30.0, 1100)
    y_c = 0.7 * x_c + rng.normal(0, 20, 900)
    y_t = 0.7 * x_t + rng.normal(0, 20, 1100) + 4.0
    out = one(
        ex.readout(
            pd.DataFrame(cell_rows("e", {"control": (y_c, x_c), "treatment": (y_t, x_t)}, "mean"))
        )
    )
    y = np.r_[y_c, y_t]
    design = sm.add_constant(
        np.column_stack([np.r_[np.zeros(900), np.ones(1100)], np.r_[x_c, x_t]])
    )
    fit = sm.OLS(y, design).fit(cov_type="HC2")
    assert out["cuped_abs_lift"] == pytest.approx(fit.params[1], rel=1e-10)
    # the per-arm variance of the adjusted metric is a heteroscedasticity-robust se
    se = (out["cuped_abs_lift_ci_high"] - out["cuped_abs_lift_ci_low"]) / (2 * 1.96)
    assert se == pytest.approx(fit.bse[1], rel=0.02)
    unadjusted = (out["abs_lift_ci_high"] - out["abs_lift_ci_low"]) / (2 * 1.96)
    assert out["variance_reduction"] == pytest.approx(1 - (se / unadjusted) ** 2, abs=0.01)
    assert out["variance_reduction"] > 0.4  # the covariate explains much of y


# --------------------------------------------------------------------------- #
# simulations (vectorised: every experiment is one row of sums)
# --------------------------------------------------------------------------- #


def simulate(
    n_experiments, n_per_arm, effect, kind, seed, arms=("control", "treatment"), segments=("all",)
):
    """Cells of n_experiments independent experiments. Units have a pre-period covariate x and
    a metric y correlated with it; `effect` is added to every non-control arm's y (proportions:
    to its probability). Returns the cells and the true absolute effect."""
    rng = np.random.default_rng(seed)
    frames = []
    for segment in segments:
        for variant in arms:
            shape = (n_experiments, n_per_arm)
            lift = 0.0 if variant == arms[0] else effect
            if kind == "mean":
                x = rng.gamma(0.6, 50.0, shape)
                y = 0.6 * x + rng.gamma(0.6, 30.0, shape) + lift
            else:
                propensity = rng.beta(0.3, 1.8, shape)  # dispersed: the pre-period tells
                x = (rng.random(shape) < propensity).astype(float)
                y = (rng.random(shape) < np.clip(propensity + lift, 0, 1)).astype(float)
            frames.append(
                pd.DataFrame(
                    {
                        "experiment_id": [f"e{i:05d}" for i in range(n_experiments)],
                        "variant": variant,
                        "is_control": variant == arms[0],
                        "segment_family": "s",
                        "segment_name": segment,
                        "metric": "m",
                        "metric_kind": kind,
                        "units": n_per_arm,
                        "assigned_units": n_per_arm,
                        "sum_y": y.sum(1),
                        "sum_y2": (y * y).sum(1),
                        "sum_x": x.sum(1),
                        "sum_x2": (x * x).sum(1),
                        "sum_xy": (x * y).sum(1),
                        "design_weight": 1.0,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("kind", ["mean", "proportion"])
def test_aa_false_positive_rate_before_and_after_cuped(kind):
    out = ex.readout(simulate(2000, 400, 0.0, kind, seed=11 if kind == "mean" else 12))
    treated = out[~out["is_control"]]
    assert len(treated) == 2000
    fpr = (treated["p_value"] < 0.05).mean()
    fpr_cuped = (treated["cuped_p_value"] < 0.05).mean()
    print(
        f"A/A {kind}: false-positive rate {fpr:.4f}, with CUPED {fpr_cuped:.4f}, "
        f"mean variance reduction {treated['variance_reduction'].mean():.3f}"
    )
    assert 0.03 <= fpr <= 0.07
    assert 0.03 <= fpr_cuped <= 0.07
    assert treated["variance_reduction"].mean() > 0.05  # the covariate is informative
    # the sample-ratio check is silent on a correct split
    assert treated["is_srm"].mean() < 0.01


@pytest.mark.parametrize("kind,effect", [("mean", 3.0), ("proportion", 0.02)])
def test_intervals_cover_the_true_effect(kind, effect):
    out = ex.readout(simulate(2000, 500, effect, kind, seed=21 if kind == "mean" else 22))
    t = out[~out["is_control"]]
    covered = ((t["abs_lift_ci_low"] <= effect) & (effect <= t["abs_lift_ci_high"])).mean()
    covered_cuped = (
        (t["cuped_abs_lift_ci_low"] <= effect) & (effect <= t["cuped_abs_lift_ci_high"])
    ).mean()
    # the relative lift against the population control mean
    control_mean = 0.6 * 0.6 * 50 + 0.6 * 30 if kind == "mean" else 1 / 7
    true_rel = effect / control_mean
    covered_rel = ((t["rel_lift_ci_low"] <= true_rel) & (true_rel <= t["rel_lift_ci_high"])).mean()
    print(
        f"coverage {kind}: absolute {covered:.4f}, CUPED {covered_cuped:.4f}, "
        f"relative {covered_rel:.4f}; power {(t['p_value'] < 0.05).mean():.3f}, "
        f"with CUPED {(t['cuped_p_value'] < 0.05).mean():.3f}"
    )
    for rate in (covered, covered_cuped, covered_rel):
        assert 0.93 <= rate <= 0.97
    # CUPED buys power when the covariate carries signal
    assert (t["cuped_p_value"] < 0.05).mean() >= (t["p_value"] < 0.05).mean()


def test_holm_controls_familywise_error_across_segments_and_arms():
    """A/A multivariate test (3 arms against control) broken down by 4 segments: 12 tests per
    family. Unadjusted, most experiments show a 'winner'; Holm keeps it near alpha."""
    cells = simulate(
        1000,
        200,
        0.0,
        "mean",
        seed=31,
        arms=("control", "a", "b", "c"),
        segments=("s1", "s2", "s3", "s4"),
    )
    out = ex.readout(cells)
    t = out[~out["is_control"]]
    assert set(t.groupby("experiment_id").size()) == {12}
    any_raw = t.groupby("experiment_id")["p_value"].min().lt(0.05).mean()
    any_adjusted = t.groupby("experiment_id")["p_value_adjusted"].min().lt(0.05).mean()
    print(
        f"A/A 4 arms x 4 segments: experiments with a raw 'winner' {any_raw:.3f}, "
        f"after Holm {any_adjusted:.3f}"
    )
    assert any_raw > 0.3
    assert any_adjusted <= 0.065
    # the adjustment is Holm over exactly that family
    family = t[t["experiment_id"] == "e00000"]
    np.testing.assert_allclose(
        family["p_value_adjusted"], multipletests(family["p_value"], method="holm")[1], rtol=1e-12
    )
    assert (family["adjustment_method"] == "holm").all()
    bh = ex.readout(cells[cells["experiment_id"] == "e00000"], adjustment="bh")
    bh = bh[~bh["is_control"]]
    np.testing.assert_allclose(
        bh["p_value_adjusted"], multipletests(bh["p_value"], method="fdr_bh")[1], rtol=1e-12
    )


def test_sample_ratio_mismatch_is_flagged_overall_and_per_segment():
    rng = np.random.default_rng(5)
    y = lambda n: rng.random(n)  # noqa: E731
    ok = cell_rows("fair", {"control": (y(5030), y(5030)), "treatment": (y(4970), y(4970))}, "mean")
    broken = cell_rows(
        "broken", {"control": (y(4600), y(4600)), "treatment": (y(5400), y(5400))}, "mean"
    )
    designed = cell_rows(
        "designed",
        {"control": (y(2000), y(2000)), "treatment": (y(8000), y(8000))},
        "mean",
        weights={"control": 1.0, "treatment": 4.0},
    )
    # a segment where the split broke although the overall split looks fine
    seg_bad = cell_rows(
        "fair",
        {"control": (y(900), y(900)), "treatment": (y(1200), y(1200))},
        "mean",
        family="device",
        segment="mobile",
    )
    out = ex.readout(pd.DataFrame(ok + broken + designed + seg_bad))
    flag = out.set_index(["experiment_id", "segment_name", "variant"])["is_srm"]
    assert not flag["fair", "all", "treatment"]
    assert flag["broken", "all", "treatment"] and flag["broken", "all", "control"]
    assert not flag["designed", "all", "treatment"]  # 20/80 by design is not a mismatch
    assert flag["fair", "mobile", "treatment"]
    # SRM counts assigned units, windows still open included
    pending = cell_rows(
        "pending",
        {"control": (y(1000), y(1000)), "treatment": (y(1000), y(1000))},
        "mean",
        assigned={"control": 1000, "treatment": 1300},
    )
    row = one(ex.readout(pd.DataFrame(pending)))
    assert row["is_srm"] and row["pending_units"] == 300 and row["units"] == 1000


def test_small_cells_are_suppressed():
    rng = np.random.default_rng(3)
    big, small = rng.random(200), rng.random(4)
    rows = cell_rows("e", {"control": (big, big), "treatment": (big, big)}, "mean")
    rows += cell_rows(
        "e",
        {"control": (big, big), "treatment": (small, small)},
        "mean",
        family="device",
        segment="tablet",
    )
    rows += cell_rows(
        "e",
        {"control": (small, small), "treatment": (big, big)},
        "mean",
        family="device",
        segment="tv",
    )
    out = ex.readout(pd.DataFrame(rows)).set_index(["segment_name", "variant"])
    assert not out.loc[("all", "treatment"), "is_suppressed"]
    for key in [("tablet", "treatment"), ("tv", "treatment"), ("tv", "control")]:
        row = out.loc[key]
        assert row["is_suppressed"]
        assert pd.isna(row["units"]) and pd.isna(row["value"]) and pd.isna(row["p_value"])
    # the tablet control has enough units to show its own value
    assert out.loc[("tablet", "control"), "units"] == 200


def test_control_rows_carry_no_lift_and_the_output_is_deterministic():
    cells = simulate(5, 100, 1.0, "mean", seed=41, arms=("control", "x", "y"))
    a, b = ex.readout(cells), ex.readout(cells.sample(frac=1.0, random_state=0))
    pd.testing.assert_frame_equal(a, b)
    control = a[a["is_control"]]
    assert control[["abs_lift", "p_value", "rel_lift", "p_value_adjusted"]].isna().all().all()
    assert control["value"].notna().all()


def test_bad_cells_fail_with_a_clear_error_and_a_missing_control_suppresses():
    rows = cell_rows(
        "orphan", {"a": (np.ones(10), np.ones(10)), "b": (np.ones(10), np.ones(10))}, "mean"
    )
    with pytest.raises(ValueError, match="sum_xy"):
        ex.readout(pd.DataFrame(rows).drop(columns="sum_xy"))
    out = ex.readout(pd.DataFrame(rows))  # no control: rows kept, nothing compared
    assert len(out) == 2 and out["is_suppressed"].all() and out["abs_lift"].isna().all()
    with pytest.raises(ValueError, match="more than one control"):
        both = pd.DataFrame(rows).assign(is_control=True)
        ex.readout(both)


def test_a_variant_missing_from_a_segment_counts_zero_in_its_sample_ratio():
    rng = np.random.default_rng(9)
    y = lambda n: rng.random(n)  # noqa: E731
    rows = cell_rows("e", {"control": (y(500), y(500)), "treatment": (y(500), y(500))}, "mean")
    # a segment only the control reached: every unit on one side is a mismatch
    rows += cell_rows("e", {"control": (y(60), y(60))}, "mean", family="device", segment="tv")
    out = ex.readout(pd.DataFrame(rows)).set_index(["segment_name", "variant"])
    assert out.loc[("tv", "control"), "is_srm"]
    assert out.loc[("tv", "control"), "srm_p_value"] == pytest.approx(
        stats.chisquare([60, 0]).pvalue
    )
    assert not out.loc[("all", "treatment"), "is_srm"]
