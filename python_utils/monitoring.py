"""Drift of model inputs: reference bins fixed when a model is fitted, the population stability
index (PSI) of today's persons against them, and the refit decision the model logs apply.

The SQL side (macros/monitoring/*.sql, feature_drift) bins today's persons into the same stored
bins and computes the same PSI; a test compares the two.

Bins of one feature, fitted on the reference population:

- ``numeric``: the interior edges are the reference's deciles (0.1 ... 0.9, linear
  interpolation), duplicates removed, so a continuous feature has 10 bins and a feature with
  mass points fewer; bin i holds edge[i-1] < value <= edge[i] (the first bin everything up to the
  first edge, the last everything above the last).
- ``categorical``: a feature with at most ``top_values`` distinct reference values (flags,
  levels) is binned by value: each of its values is a bin, a value the reference never had falls
  in ``other``.
- Every feature also has a ``missing`` bin (null values), so a feature that starts arriving
  empty drifts too.

PSI = sum over bins of (current - reference) * ln(current / reference), with both shares floored
at ``epsilon`` (1e-4) so an empty bin counts as a small share, not as an infinite term.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

N_BINS = 10
TOP_VALUES = 10
EPSILON = 1e-4
MODERATE_PSI = 0.1
MAJOR_PSI = 0.25
PSI_DECIMALS = 10  # feature_drift and drift_table round the PSI to this many decimals
MISSING_BIN = -1  # bin_index of null values
OTHER_BIN = -2  # bin_index of categorical values the reference did not have


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds of the drift levels and the binning (dbt vars in the project)."""

    n_bins: int = N_BINS
    top_values: int = TOP_VALUES
    epsilon: float = EPSILON
    moderate: float = MODERATE_PSI
    major: float = MAJOR_PSI


def _values(frame: pd.DataFrame, feature: str) -> np.ndarray:
    return pd.to_numeric(frame[feature], errors="coerce").astype("float64").to_numpy()


def decile_edges(
    distinct: np.ndarray,
    present: np.ndarray,
    n_bins: int,
    mass_share: float | None = None,
    mass_clearance: float = 0.1,
) -> list[float]:
    """Interior bin edges of a numeric feature: the quantiles 1/n ... (n-1)/n of the reference,
    duplicates removed, with no edge closer than `mass_clearance` standard deviations to a mass
    point (a value at least `mass_share`, default half a bin, of the reference persons hold exactly, e.g. a shrunk
    rate's prior for persons without visits, or a default). A mass point moves when its value
    follows the population (a prior is the population's rate); an edge right beside it would
    move the whole mass across a bin on a tiny change and report drift where behaviour did not
    change. Such an edge moves to the nearer end of the mass point's clearance zone (zones that
    overlap are merged)."""
    if not len(present):
        return []
    edges = np.quantile(present, np.arange(1, n_bins) / n_bins)
    values, counts = np.unique(present, return_counts=True)
    share = 0.5 / n_bins if mass_share is None else mass_share
    masses = values[counts >= share * len(present)]
    clearance = mass_clearance * float(np.std(present))
    # the mass points' clearance zones, overlapping ones merged: an edge inside one moves to
    # the zone's nearer end
    zones: list[list[float]] = []
    for mass in masses:  # ascending
        if zones and mass - clearance <= zones[-1][1]:
            zones[-1][1] = mass + clearance
        else:
            zones.append([mass - clearance, mass + clearance])
    for low, high in zones:
        inside = (edges > low) & (edges < high)
        edges = np.where(inside & (edges - low < high - edges), low, np.where(inside, high, edges))
    return [float(v) for v in np.unique(edges)]


def feature_bins(values: np.ndarray, settings: DriftSettings = DriftSettings()) -> dict:
    """The bins of one feature fitted on reference values (see the module docstring): kind,
    edges (numeric) or categories (categorical), and the reference share of every bin."""
    present = np.sort(values[~np.isnan(values)])  # sorted: sums (the sd) independent of order
    distinct = np.unique(present)
    if len(distinct) <= settings.top_values and len(distinct) > 0:
        kind, edges, categories = "categorical", [], [float(v) for v in distinct]
    else:
        edges = decile_edges(distinct, present, settings.n_bins)
        kind, categories = "numeric", []
    bins = {"kind": kind, "edges": edges, "categories": categories}
    bins["reference_shares"] = bin_shares(values, bins)
    return bins


def bin_index(values: np.ndarray, bins: dict) -> np.ndarray:
    """The bin of every value: 0..n-1, MISSING_BIN for null, OTHER_BIN for a categorical value
    the reference did not have."""
    missing = np.isnan(values)
    if bins["kind"] == "numeric":
        index = np.searchsorted(np.array(bins["edges"], dtype="float64"), values, side="left")
    else:
        categories = np.array(bins["categories"], dtype="float64")
        position = np.searchsorted(categories, values)
        found = (position < len(categories)) & (
            categories[np.minimum(position, max(len(categories) - 1, 0))] == values
            if len(categories)
            else np.zeros(len(values), bool)
        )
        index = np.where(found, position, OTHER_BIN)
    return np.where(missing, MISSING_BIN, index).astype("int64")


def bin_ids(bins: dict) -> list[int]:
    """Every bin of a feature, in a fixed order: the value bins, then other (categorical), then
    missing."""
    if bins["kind"] == "numeric":
        return [*range(len(bins["edges"]) + 1), MISSING_BIN]
    return [*range(len(bins["categories"])), OTHER_BIN, MISSING_BIN]


def bin_shares(values: np.ndarray, bins: dict) -> dict[str, float]:
    """Share of the values in every bin ({bin_index as text: share}; 0 for an empty bin)."""
    index = bin_index(values, bins)
    total = max(len(values), 1)
    return {str(b): float(np.count_nonzero(index == b)) / total for b in bin_ids(bins)}


def psi(reference: dict[str, float], current: dict[str, float], epsilon: float = EPSILON) -> float:
    """Population stability index of current shares against reference shares (same bins)."""
    total = 0.0
    for key in reference:
        r = max(reference[key], epsilon)
        c = max(current.get(key, 0.0), epsilon)
        total += (c - r) * np.log(c / r)
    return float(total)


def drift_level(value: float | None, settings: DriftSettings = DriftSettings()) -> str:
    """none < moderate (0.1) <= ... < major (0.25) <= ...; none when there is no value."""
    if value is None or value != value:
        return "none"
    if value >= settings.major:
        return "major"
    if value >= settings.moderate:
        return "moderate"
    return "none"


def reference_bins(
    frame: pd.DataFrame, features: list[str], settings: DriftSettings = DriftSettings()
) -> dict[str, dict]:
    """The bins of every feature of a reference population ({feature: bins})."""
    return {f: feature_bins(_values(frame, f), settings) for f in features if f in frame.columns}


def reference_bins_json(
    frame: pd.DataFrame, features: list[str], settings: DriftSettings = DriftSettings()
) -> str:
    return json.dumps(reference_bins(frame, features, settings), sort_keys=True)


def drift_table(
    frame: pd.DataFrame, bins_by_feature: dict[str, dict], settings: DriftSettings = DriftSettings()
) -> pd.DataFrame:
    """PSI and drift level of every reference feature on today's persons (a feature the frame
    lacks counts as entirely missing)."""
    rows = []
    for feature in sorted(bins_by_feature):
        bins = bins_by_feature[feature]
        values = (
            _values(frame, feature) if feature in frame.columns else np.full(len(frame), np.nan)
        )
        # rounded as feature_drift rounds it (a parallel SQL sum varies in the last bits)
        value = round(
            psi(bins["reference_shares"], bin_shares(values, bins), settings.epsilon), PSI_DECIMALS
        )
        rows.append(
            {
                "feature": feature,
                "bin_count": len(bin_ids(bins)),
                "psi": value,
                "drift_level": drift_level(value, settings),
            }
        )
    return pd.DataFrame(rows, columns=["feature", "bin_count", "psi", "drift_level"])


def bins_rows(run_id: str, bins_by_feature: dict[str, dict]) -> list[dict]:
    """The stored bins as rows (run_id, feature, feature_kind, bin_index, lower_edge,
    upper_edge, category_value, reference_share): what the SQL drift macros join to."""
    rows = []
    for feature in sorted(bins_by_feature):
        bins = bins_by_feature[feature]
        edges, categories = bins["edges"], bins["categories"]
        for b in bin_ids(bins):
            lower = upper = category = None
            if b >= 0 and bins["kind"] == "numeric":
                lower = edges[b - 1] if b > 0 else None
                upper = edges[b] if b < len(edges) else None
            elif b >= 0:
                category = categories[b]
            rows.append(
                {
                    "run_id": run_id,
                    "feature": feature,
                    "feature_kind": bins["kind"],
                    "bin_index": b,
                    "lower_edge": lower,
                    "upper_edge": upper,
                    "category_value": category,
                    "reference_share": bins["reference_shares"][str(b)],
                }
            )
    return rows


@dataclass(frozen=True)
class RefitPolicy:
    """When a stored model is refitted (dbt vars model_* in the project)."""

    max_age_days: int = 7
    drift_major_share: float = 0.3
    min_assignment_ari: float = 0.5
    force: bool = False
    #: a re-run of the build that fitted the latest run (same as_of) keeps that fit
    rerun_keeps_fit: bool = True


def model_age_days(fitted_as_of, as_of) -> int | None:
    if fitted_as_of is None or as_of is None or pd.isna(fitted_as_of) or pd.isna(as_of):
        return None
    return int((pd.Timestamp(as_of).normalize() - pd.Timestamp(fitted_as_of).normalize()).days)


def refitted_by_this_build(checked_as_of, decision, as_of) -> bool:
    """Whether the latest run was fitted by an earlier attempt of this same build (its check
    was a refit on this as_of): a re-run of the build keeps that decision instead of judging the
    new model against itself."""
    if checked_as_of is None or as_of is None or pd.isna(checked_as_of) or pd.isna(as_of):
        return False
    return (
        str(decision) == "refit"
        and pd.Timestamp(checked_as_of).date() == pd.Timestamp(as_of).date()
    )


def major_share(drift: pd.DataFrame) -> float | None:
    """Share of the reference features whose PSI is major (None without features)."""
    if drift.empty:
        return None
    return float((drift["drift_level"] == "major").mean())


def refit_reason(
    policy: RefitPolicy,
    has_model: bool,
    settings_changed: bool,
    age_days: int | None,
    drift_major: float | None,
    assignment_ari: float | None = None,
) -> str | None:
    """Why a model is refitted now, or None when the stored model scores: no_model, forced,
    settings_changed, model_age (older than max_age_days), feature_drift (a major PSI on at
    least drift_major_share of its features) or assignment_ari (today's scoring agrees less than
    min_assignment_ari with the assignment at the fit). The first that applies is the reason."""
    if not has_model:
        return "no_model"
    if policy.force:
        return "forced"
    if settings_changed:
        return "settings_changed"
    if age_days is not None and age_days > policy.max_age_days:
        return "model_age"
    if drift_major is not None and drift_major >= policy.drift_major_share:
        return "feature_drift"
    if assignment_ari is not None and assignment_ari < policy.min_assignment_ari:
        return "assignment_ari"
    return None


def policy_from_meta(text) -> RefitPolicy:
    raw = json.loads(text) if isinstance(text, str) else dict(text or {})
    force = raw.get("force", False)
    if isinstance(force, str):
        force = force.strip().lower() in ("true", "1", "yes")
    return RefitPolicy(
        max_age_days=int(raw.get("max_age_days", 7)),
        drift_major_share=float(raw.get("drift_major_share", 0.3)),
        min_assignment_ari=float(raw.get("min_assignment_ari", 0.5)),
        force=bool(force),
    )


def settings_from_meta(text) -> DriftSettings:
    raw = json.loads(text) if isinstance(text, str) else dict(text or {})
    return DriftSettings(
        n_bins=int(raw.get("n_bins", N_BINS)),
        top_values=int(raw.get("top_values", TOP_VALUES)),
        epsilon=float(raw.get("epsilon", EPSILON)),
        moderate=float(raw.get("moderate", MODERATE_PSI)),
        major=float(raw.get("major", MAJOR_PSI)),
    )


BINS_COLUMNS = [
    "run_id",
    "feature",
    "feature_kind",
    "bin_index",
    "lower_edge",
    "upper_edge",
    "category_value",
    "reference_share",
]


def reference_bins_table(runs: pd.DataFrame) -> pd.DataFrame:
    """cluster_reference_bins: the stored bins of every run (run_id, reference_bins_json) as
    rows; runs logged before the bins were stored have none."""
    rows = []
    for run_id, text in zip(runs["run_id"], runs["reference_bins_json"]):
        if text is not None and not pd.isna(text):
            rows.extend(bins_rows(str(run_id), json.loads(text)))
    frame = pd.DataFrame(rows, columns=BINS_COLUMNS)
    frame = frame.sort_values(["run_id", "feature", "bin_index"], kind="stable")
    return frame.reset_index(drop=True).astype(
        {
            "run_id": "string",
            "feature": "string",
            "feature_kind": "string",
            "bin_index": "int64",
            "lower_edge": "float64",
            "upper_edge": "float64",
            "category_value": "float64",
            "reference_share": "float64",
        }
    )
