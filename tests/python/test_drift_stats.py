"""python_utils.monitoring on small frames: the bins, the PSI and the refit decision."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from python_utils.monitoring import (
    MISSING_BIN,
    OTHER_BIN,
    DriftSettings,
    RefitPolicy,
    bin_index,
    bin_shares,
    bins_rows,
    drift_level,
    drift_table,
    feature_bins,
    psi,
    reference_bins_table,
    refit_reason,
)


def test_a_continuous_feature_gets_ten_equal_bins():
    values = np.random.default_rng(3).normal(size=10_000)
    bins = feature_bins(values)
    assert bins["kind"] == "numeric" and len(bins["edges"]) == 9
    shares = bins_shares = bin_shares(values, bins)
    assert all(abs(shares[str(b)] - 0.1) < 0.002 for b in range(10))
    assert bins_shares[str(MISSING_BIN)] == 0


def test_edges_keep_clear_of_a_mass_point():
    """A quarter of the persons at one value (a shrunk rate's prior): no edge within 0.1 sd of
    it, so the mass stays in its bin when the value moves a little."""
    rng = np.random.default_rng(4)
    values = np.concatenate([np.full(2500, 2.0), rng.normal(2.0, 1.0, 7500)])
    bins = feature_bins(values)
    clearance = 0.1 * values.std()
    assert all(abs(edge - 2.0) >= clearance - 1e-12 for edge in bins["edges"])
    moved = values.copy()
    moved[:2500] = 2.0 + 0.5 * clearance
    assert psi(bins["reference_shares"], bin_shares(moved, bins)) < 0.01


def test_a_few_values_are_categories_and_new_ones_fall_in_other():
    reference = np.array([0.0] * 70 + [1.0] * 30)
    bins = feature_bins(reference)
    assert bins["kind"] == "categorical" and bins["categories"] == [0.0, 1.0]
    today = np.array([0.0, 1.0, 2.0, np.nan])
    assert bin_index(today, bins).tolist() == [0, 1, OTHER_BIN, MISSING_BIN]
    shares = bin_shares(today, bins)
    assert shares[str(OTHER_BIN)] == shares[str(MISSING_BIN)] == 0.25


def test_psi_floors_empty_bins_at_epsilon():
    reference = {"0": 0.5, "1": 0.5, "-1": 0.0}
    assert psi(reference, reference) == 0
    value = psi(reference, {"0": 1.0, "1": 0.0, "-1": 0.0}, epsilon=1e-4)
    expected = (1.0 - 0.5) * np.log(1.0 / 0.5) + (1e-4 - 0.5) * np.log(1e-4 / 0.5)
    assert value == pytest.approx(expected)
    assert np.isfinite(value)


@pytest.mark.parametrize(
    "value, level",
    [(0.0999, "none"), (0.1, "moderate"), (0.2499, "moderate"), (0.25, "major"), (None, "none")],
)
def test_levels(value, level):
    assert drift_level(value) == level


def test_shifted_feature_is_major_and_the_other_is_not():
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"a": rng.normal(size=5000), "b": rng.normal(size=5000)})
    bins = {f: feature_bins(reference[f].to_numpy()) for f in ("a", "b")}
    today = pd.DataFrame({"a": rng.normal(0.8, 1, 5000), "b": rng.normal(size=5000)})
    table = drift_table(today, bins).set_index("feature")
    assert table.loc["a", "drift_level"] == "major"
    assert table.loc["b", "drift_level"] == "none"
    missing = drift_table(today.drop(columns="b"), bins).set_index("feature")
    assert missing.loc["b", "drift_level"] == "major"  # a feature that stops arriving drifts


def test_bins_as_rows_cover_every_bin_once():
    bins = {"a": feature_bins(np.arange(100.0)), "flag": feature_bins(np.array([0.0, 1.0]))}
    runs = pd.DataFrame({"run_id": ["r1"], "reference_bins_json": [json.dumps(bins)]})
    table = reference_bins_table(runs)
    assert len(table) == len(bins_rows("r1", bins)) == (10 + 1) + (2 + 2)
    a = table[table["feature"] == "a"].sort_values("bin_index")
    assert a["reference_share"].sum() == pytest.approx(1.0)
    assert a["lower_edge"].isna().sum() == 2 and a["upper_edge"].isna().sum() == 2


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"has_model": False}, "no_model"),
        ({"policy": RefitPolicy(force=True)}, "forced"),
        ({"settings_changed": True}, "settings_changed"),
        ({"age_days": 8}, "model_age"),
        ({"age_days": 7}, None),
        ({"drift_major": 0.3}, "feature_drift"),
        ({"drift_major": 0.29}, None),
        ({"assignment_ari": 0.4}, "assignment_ari"),
        ({"assignment_ari": 0.9}, None),
    ],
)
def test_refit_reason(kwargs, reason):
    arguments = {
        "policy": RefitPolicy(),
        "has_model": True,
        "settings_changed": False,
        "age_days": 1,
        "drift_major": 0.0,
        "assignment_ari": 1.0,
        **kwargs,
    }
    assert refit_reason(**arguments) == reason


def test_settings_change_the_bins():
    values = np.arange(1000.0)
    assert len(feature_bins(values, DriftSettings(n_bins=5))["edges"]) == 4
