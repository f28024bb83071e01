"""Experiment statistics over per-cell aggregates (the `experiment_readouts` mart).

SQL counts and sums; this module turns the sums into readouts. A *cell* is one experiment x
variant x segment (family, name) x metric, with the sufficient statistics of its units:

    units                 units whose attribution window has ended (the estimates use these)
    assigned_units        every unit exposed to the variant, window ended or not (for the SRM)
    sum_y, sum_y2         the metric: sum and sum of squares over `units`
    sum_x, sum_x2, sum_xy the CUPED covariate (the same metric over the pre-period) and its
                          cross-product with the metric
    metric_kind           'proportion' (0/1 metric: Wald two-proportion test) or 'mean'
                          (Welch's t-test)
    design_weight         the designed share of the variant (any positive scale; equal by default)
    is_control            the arm the others are compared with

Every function is vectorised over numpy arrays, so an A/A simulation of thousands of
experiments runs in a second. Only numpy and scipy are needed (also inside Snowflake).

Conventions (what the readout reports; docs/measurement.md explains them):
- absolute lift: treatment mean - control mean, 95% interval from the normal (proportions) or
  Welch-t (means) distribution with unpooled variances, the same variance the p-value uses;
- relative lift: treatment / control - 1 with a delta-method interval;
- p-values adjusted with Holm's step-down method (Benjamini-Hochberg on request) over every
  treatment arm x segment of one experiment, metric and segment family, so the correction
  covers both the segments of a family and the arms of a multivariate test;
- minimum detectable effect: the absolute difference a two-sided test at `alpha` detects with
  `power`, given the cell sizes and the control's variance;
- sample-ratio mismatch: Pearson's chi-square of assigned units against the designed split, per
  experiment and segment (overall is segment `all`), flagged at p < `srm_alpha` (0.001);
- CUPED: the metric minus theta times the centred pre-period covariate, theta the pooled
  within-arm slope of control and treatment (the estimate equals the treatment coefficient
  of the ANCOVA regression y ~ arm + x), with the share of variance it removed;
- cells with fewer than `k_min` units (or whose control has fewer, or no control at all) are
  suppressed: their counts, values and statistics are null.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import stats

KEYS = ["experiment_id", "segment_family", "segment_name", "metric"]
ADJUSTMENTS = ("holm", "bh")


# --------------------------------------------------------------------------- #
# building blocks (arrays in, arrays out)
# --------------------------------------------------------------------------- #


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype="float64")


def mean_var(n, s, s2, kind="mean"):
    """Mean and variance of a cell from its count, sum and sum of squares. Proportions use
    the plug-in variance p(1 - p) (the Wald test's); means the sample variance (n - 1)."""
    n, s, s2 = _arr(n), _arr(s), _arr(s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / n
        if kind == "proportion":
            var = mean * (1.0 - mean)
        else:
            var = (s2 - s * s / n) / (n - 1.0)
    return mean, np.maximum(var, 0.0)


def _p_from_z(z):
    return 2.0 * stats.norm.sf(np.abs(z))


def difference(n_c, mean_c, var_c, n_t, mean_t, var_t, kind="mean", alpha=0.05):
    """Absolute difference treatment - control with its standard error, two-sided p-value and
    (1 - alpha) interval. kind 'proportion': Wald z with unpooled variances; 'mean': Welch's t
    with Welch-Satterthwaite degrees of freedom. A difference with no variance at all has
    p-value 1 if it is zero (and NaN otherwise)."""
    n_c, mean_c, var_c = _arr(n_c), _arr(mean_c), _arr(var_c)
    n_t, mean_t, var_t = _arr(n_t), _arr(mean_t), _arr(var_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = var_c / n_c, var_t / n_t
        se = np.sqrt(a + b)
        diff = mean_t - mean_c
        stat = diff / se
        if kind == "proportion":
            p = _p_from_z(stat)
            crit = np.full_like(se, stats.norm.ppf(1 - alpha / 2))
        else:
            df = (a + b) ** 2 / (a * a / (n_c - 1.0) + b * b / (n_t - 1.0))
            p = 2.0 * stats.t.sf(np.abs(stat), df)
            crit = stats.t.ppf(1 - alpha / 2, df)
    degenerate = se == 0
    p = np.where(degenerate & (diff == 0), 1.0, np.where(degenerate, np.nan, p))
    crit = np.where(degenerate, 0.0, crit)
    return diff, se, p, diff - crit * se, diff + crit * se


def relative_lift(n_c, mean_c, var_c, n_t, mean_t, var_t, alpha=0.05):
    """Relative lift treatment / control - 1 and its delta-method (1 - alpha) interval
    (independent arms): Var(m_t / m_c) ~ Var(m_t) / m_c^2 + m_t^2 Var(m_c) / m_c^4.
    NaN where the control mean is zero."""
    n_c, mean_c, var_c = _arr(n_c), _arr(mean_c), _arr(var_c)
    n_t, mean_t, var_t = _arr(n_t), _arr(mean_t), _arr(var_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean_t / mean_c
        se = np.sqrt(var_t / n_t / mean_c**2 + mean_t**2 * (var_c / n_c) / mean_c**4)
    ratio = np.where(mean_c == 0, np.nan, ratio)
    z = stats.norm.ppf(1 - alpha / 2)
    return ratio - 1.0, ratio - 1.0 - z * se, ratio - 1.0 + z * se


def minimum_detectable_effect(n_c, var_c, n_t, alpha=0.05, power=0.8):
    """The absolute difference a two-sided level-alpha test detects with the given power, with
    both arms at the control's variance: (z_{1-alpha/2} + z_power) sqrt(var_c (1/n_c + 1/n_t))."""
    n_c, var_c, n_t = _arr(n_c), _arr(var_c), _arr(n_t)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    with np.errstate(divide="ignore", invalid="ignore"):
        return z * np.sqrt(var_c * (1.0 / n_c + 1.0 / n_t))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error); NaNs stay NaN and do not count."""
    p = _arr(p_values)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    order = np.argsort(p[ok], kind="stable")
    ranked = p[ok][order] * (m - np.arange(m))
    adjusted = np.minimum(np.maximum.accumulate(ranked), 1.0)
    values = np.empty(m)
    values[order] = adjusted
    out[ok] = values
    return out


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate); NaNs stay NaN."""
    p = _arr(p_values)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    order = np.argsort(p[ok], kind="stable")
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    values = np.empty(m)
    values[order] = adjusted
    out[ok] = values
    return out


def srm_p_value(observed, weights) -> float:
    """Pearson chi-square p-value of observed unit counts against the designed shares."""
    observed, weights = _arr(observed), _arr(weights)
    total = observed.sum()
    if len(observed) < 2 or total <= 0 or np.any(weights <= 0):
        return float("nan")
    expected = total * weights / weights.sum()
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return float(stats.chi2.sf(statistic, len(observed) - 1))


def cuped(control: dict, treatment: dict, kind="mean", alpha=0.05):
    """CUPED-adjusted difference from the sums of two arms (dicts of arrays: n, sum_y, sum_y2,
    sum_x, sum_x2, sum_xy). theta is the pooled within-arm slope of y on x, so the adjusted
    difference equals the ANCOVA treatment effect. Returns theta, the adjusted arm means (at
    the pooled covariate mean), the adjusted difference, its se, p-value and interval, and the
    variance reduction 1 - Var(adjusted diff) / Var(unadjusted diff) (both with n - 1)."""
    arms = []
    for arm in (control, treatment):
        n = _arr(arm["n"])
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_y, mean_x = _arr(arm["sum_y"]) / n, _arr(arm["sum_x"]) / n
        sxx = _arr(arm["sum_x2"]) - _arr(arm["sum_x"]) * mean_x
        sxy = _arr(arm["sum_xy"]) - _arr(arm["sum_x"]) * mean_y
        syy = _arr(arm["sum_y2"]) - _arr(arm["sum_y"]) * mean_y
        arms.append((n, mean_y, mean_x, sxx, sxy, syy))
    (n_c, y_c, x_c, sxx_c, sxy_c, syy_c), (n_t, y_t, x_t, sxx_t, sxy_t, syy_t) = arms
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = sxx_c + sxx_t
        theta = np.where(denominator > 0, (sxy_c + sxy_t) / denominator, 0.0)
        x_pooled = (n_c * x_c + n_t * x_t) / (n_c + n_t)
        adj_c = y_c - theta * (x_c - x_pooled)
        adj_t = y_t - theta * (x_t - x_pooled)
        var_c = np.maximum(syy_c - 2 * theta * sxy_c + theta**2 * sxx_c, 0) / (n_c - 1)
        var_t = np.maximum(syy_t - 2 * theta * sxy_t + theta**2 * sxx_t, 0) / (n_t - 1)
        raw = np.maximum(syy_c, 0) / (n_c - 1) / n_c + np.maximum(syy_t, 0) / (n_t - 1) / n_t
    diff, se, p, low, high = difference(n_c, adj_c, var_c, n_t, adj_t, var_t, kind, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        reduction = np.where(raw > 0, 1.0 - se**2 / raw, np.nan)
    return {
        "theta": theta,
        "control_value": adj_c,
        "value": adj_t,
        "diff": diff,
        "se": se,
        "p_value": p,
        "ci_low": low,
        "ci_high": high,
        "variance_reduction": reduction,
    }


# --------------------------------------------------------------------------- #
# the readout
# --------------------------------------------------------------------------- #

CELL_COLUMNS = [
    "experiment_id",
    "variant",
    "is_control",
    "segment_family",
    "segment_name",
    "metric",
    "metric_kind",
    "assigned_units",
    "units",
    "sum_y",
    "sum_y2",
    "sum_x",
    "sum_x2",
    "sum_xy",
    "design_weight",
]

OUTPUT_COLUMNS = [
    "experiment_id",
    "variant",
    "is_control",
    "segment_family",
    "segment_name",
    "metric",
    "assigned_units",
    "units",
    "pending_units",
    "value",
    "control_units",
    "control_value",
    "abs_lift",
    "abs_lift_ci_low",
    "abs_lift_ci_high",
    "rel_lift",
    "rel_lift_ci_low",
    "rel_lift_ci_high",
    "p_value",
    "p_value_adjusted",
    "adjustment_method",
    "is_significant",
    "mde_abs",
    "mde_rel",
    "srm_p_value",
    "is_srm",
    "cuped_value",
    "cuped_abs_lift",
    "cuped_abs_lift_ci_low",
    "cuped_abs_lift_ci_high",
    "cuped_p_value",
    "cuped_p_value_adjusted",
    "variance_reduction",
    "is_suppressed",
]


def _srm(cells: pd.DataFrame, srm_alpha: float) -> pd.DataFrame:
    """SRM p-value per experiment x segment from the assigned units of every variant of the
    experiment (a variant with no unit in a segment counts 0 there). One metric's rows suffice:
    assignment does not depend on the metric."""
    seg = ["experiment_id", "segment_family", "segment_name"]
    arms = cells.sort_values(seg + ["variant", "metric"]).drop_duplicates(seg + ["variant"])
    weights = (
        arms.sort_values(["experiment_id", "variant"])
        .drop_duplicates(["experiment_id", "variant"])
        .set_index(["experiment_id", "variant"])["design_weight"]
    )
    rows = []
    for key, group in arms.groupby(seg, sort=True):
        design = weights.loc[key[0]]
        observed = group.set_index("variant")["assigned_units"].reindex(design.index).fillna(0)
        rows.append((*key, srm_p_value(observed, design)))
    out = pd.DataFrame(rows, columns=seg + ["srm_p_value"])
    out["is_srm"] = out["srm_p_value"] < srm_alpha
    return out


TEXT_COLUMNS = [
    "experiment_id",
    "variant",
    "segment_family",
    "segment_name",
    "metric",
    "adjustment_method",
]
BOOLEAN_COLUMNS = ["is_control", "is_significant", "is_srm", "is_suppressed"]
COUNT_COLUMNS = ["assigned_units", "units", "pending_units", "control_units"]


def empty_readout() -> pd.DataFrame:
    """The readout of no experiment: no rows, every column typed."""
    columns = {}
    for column in OUTPUT_COLUMNS:
        dtype = (
            "object"
            if column in TEXT_COLUMNS
            else "boolean"
            if column in BOOLEAN_COLUMNS
            else "Int64"
            if column in COUNT_COLUMNS
            else "float64"
        )
        columns[column] = pd.Series([], dtype=dtype)
    return pd.DataFrame(columns)


def readout_params(meta) -> dict:
    """readout() keyword arguments from the model's meta (a JSON text or a dict rendered from
    the experiment_* variables)."""
    params = json.loads(meta) if isinstance(meta, str) else dict(meta or {})
    return {
        "alpha": float(params.get("alpha", 0.05)),
        "power": float(params.get("power", 0.8)),
        "srm_alpha": float(params.get("srm_alpha", 0.001)),
        "k_min": int(params.get("k_min", 5)),
        "adjustment": str(params.get("adjustment", "holm")).lower(),
    }


def readout(
    cells: pd.DataFrame,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    srm_alpha: float = 0.001,
    k_min: int = 5,
    adjustment: str = "holm",
) -> pd.DataFrame:
    """One readout row per cell (experiment x variant x segment x metric): the columns of
    OUTPUT_COLUMNS, control rows without lifts. Sorted by experiment, family, segment, metric,
    control first, then variant, so the same cells give the same frame."""
    missing = [c for c in CELL_COLUMNS if c not in cells.columns]
    if missing:
        raise ValueError(f"experiment cells lack the column(s) {missing}")
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, not {adjustment!r}")
    if len(cells) == 0:
        return empty_readout()
    cells = cells[CELL_COLUMNS].copy()
    for column in [
        "assigned_units",
        "units",
        "sum_y",
        "sum_y2",
        "sum_x",
        "sum_x2",
        "sum_xy",
        "design_weight",
    ]:
        cells[column] = pd.to_numeric(cells[column]).astype("float64").fillna(0.0)
    cells["is_control"] = cells["is_control"].astype(bool)
    controls = cells[cells["is_control"]]
    dupes = controls.duplicated(KEYS)
    if dupes.any():
        raise ValueError(
            "more than one control variant in experiment(s) "
            f"{sorted(controls.loc[dupes, 'experiment_id'].unique())}"
        )
    # An experiment without a control cell (its control reached no unit, or no variant is named
    # in experiment_control_variants: experiment_exposure_summary.control_variant shows which)
    # keeps its rows, suppressed: there is nothing to compare with.

    renamed = {c: "c_" + c for c in ["units", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy"]}
    frame = cells.merge(
        controls[KEYS + list(renamed)].rename(columns=renamed),
        on=KEYS,
        how="left",
        validate="many_to_one",
    )
    kinds = frame["metric_kind"].to_numpy()
    for column in [
        "value",
        "control_value",
        "abs_lift",
        "abs_lift_ci_low",
        "abs_lift_ci_high",
        "p_value",
        "mde_abs",
        "rel_lift",
        "rel_lift_ci_low",
        "rel_lift_ci_high",
        "cuped_value",
        "cuped_abs_lift",
        "cuped_abs_lift_ci_low",
        "cuped_abs_lift_ci_high",
        "cuped_p_value",
        "variance_reduction",
    ]:
        frame[column] = np.nan
    for kind in ("proportion", "mean"):
        rows = kinds == kind
        if not rows.any():
            continue
        f = frame[rows]
        m_t, v_t = mean_var(f["units"], f["sum_y"], f["sum_y2"], kind)
        m_c, v_c = mean_var(f["c_units"], f["c_sum_y"], f["c_sum_y2"], kind)
        diff, _, p, low, high = difference(
            f["c_units"], m_c, v_c, f["units"], m_t, v_t, kind, alpha
        )
        rel, rel_low, rel_high = relative_lift(f["c_units"], m_c, v_c, f["units"], m_t, v_t, alpha)
        cup = cuped(
            {
                "n": f["c_units"],
                "sum_y": f["c_sum_y"],
                "sum_y2": f["c_sum_y2"],
                "sum_x": f["c_sum_x"],
                "sum_x2": f["c_sum_x2"],
                "sum_xy": f["c_sum_xy"],
            },
            {
                "n": f["units"],
                "sum_y": f["sum_y"],
                "sum_y2": f["sum_y2"],
                "sum_x": f["sum_x"],
                "sum_x2": f["sum_x2"],
                "sum_xy": f["sum_xy"],
            },
            kind,
            alpha,
        )
        values = {
            "value": m_t,
            "control_value": m_c,
            "abs_lift": diff,
            "abs_lift_ci_low": low,
            "abs_lift_ci_high": high,
            "p_value": p,
            "mde_abs": minimum_detectable_effect(f["c_units"], v_c, f["units"], alpha, power),
            "rel_lift": rel,
            "rel_lift_ci_low": rel_low,
            "rel_lift_ci_high": rel_high,
            "cuped_value": cup["value"],
            "cuped_abs_lift": cup["diff"],
            "cuped_abs_lift_ci_low": cup["ci_low"],
            "cuped_abs_lift_ci_high": cup["ci_high"],
            "cuped_p_value": cup["p_value"],
            "variance_reduction": cup["variance_reduction"],
        }
        for column, value in values.items():
            frame.loc[rows, column] = np.asarray(value, dtype="float64")

    with np.errstate(divide="ignore", invalid="ignore"):
        frame["mde_rel"] = np.where(
            frame["control_value"] != 0, frame["mde_abs"] / frame["control_value"], np.nan
        )
    frame["pending_units"] = frame["assigned_units"] - frame["units"]
    frame["control_units"] = frame["c_units"]
    frame["is_suppressed"] = (
        (frame["units"] < k_min)
        | (frame["assigned_units"] < k_min)
        | (frame["c_units"].fillna(0) < k_min)
    )
    control = frame["is_control"]
    comparison = [
        "control_units",
        "control_value",
        "abs_lift",
        "abs_lift_ci_low",
        "abs_lift_ci_high",
        "rel_lift",
        "rel_lift_ci_low",
        "rel_lift_ci_high",
        "p_value",
        "mde_abs",
        "mde_rel",
        "cuped_value",
        "cuped_abs_lift",
        "cuped_abs_lift_ci_low",
        "cuped_abs_lift_ci_high",
        "cuped_p_value",
        "variance_reduction",
    ]
    frame.loc[control, comparison] = np.nan
    # a control row keeps its own value and counts; a suppressed row keeps nothing
    hidden = frame["is_suppressed"]
    frame.loc[hidden, comparison + ["value", "units", "assigned_units", "pending_units"]] = np.nan

    adjust = holm if adjustment == "holm" else benjamini_hochberg
    frame["p_value_adjusted"] = np.nan
    frame["cuped_p_value_adjusted"] = np.nan
    family = ["experiment_id", "metric", "segment_family"]
    tested = frame[~control & ~hidden]
    for _, index in tested.groupby(family, sort=False).groups.items():
        frame.loc[index, "p_value_adjusted"] = adjust(frame.loc[index, "p_value"])
        frame.loc[index, "cuped_p_value_adjusted"] = adjust(frame.loc[index, "cuped_p_value"])
    frame["adjustment_method"] = np.where(control, None, adjustment)
    frame["is_significant"] = np.where(
        frame["p_value_adjusted"].isna(), None, frame["p_value_adjusted"] < alpha
    )

    frame = frame.merge(
        _srm(cells, srm_alpha), on=["experiment_id", "segment_family", "segment_name"], how="left"
    )
    frame["is_srm"] = frame["is_srm"].astype("boolean")
    frame.loc[hidden, "srm_p_value"] = np.nan
    frame.loc[hidden, "is_srm"] = pd.NA
    frame["is_significant"] = frame["is_significant"].astype("boolean")
    frame = frame.sort_values(
        ["experiment_id", "segment_family", "segment_name", "metric", "is_control", "variant"],
        ascending=[True, True, True, True, False, True],
    )
    for column in ["assigned_units", "units", "pending_units", "control_units"]:
        frame[column] = frame[column].astype("Int64")
    return frame[OUTPUT_COLUMNS].reset_index(drop=True)
