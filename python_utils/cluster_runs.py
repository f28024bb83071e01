"""The clustering run log and model store (segment_model_runs): one row per fit with the
serialised model, its scores and the reference bins of its population; the refit check that
decides whether a build refits (no model, settings changed, model age, feature drift, a low
agreement of today's assignment with the one at the fit, or forced) or keeps the stored model;
the run in force that customer_clusters and the scoring tables apply."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from python_utils.clustering import (
    ClusterModel,
    ClusterParams,
    assign_matrix,
    feature_columns,
    fit_cluster_model,
    input_hash,
    single_threaded_when_small,
)
from python_utils.monitoring import (
    DriftSettings,
    RefitPolicy,
    drift_table,
    major_share,
    model_age_days,
    reference_bins_json,
    refit_reason,
    refitted_by_this_build,
)

RUN_COLUMNS = [
    "run_id",
    "run_number",
    "previous_run_id",
    "algorithm",
    "as_of_date",
    "input_hash",
    "params_hash",
    "person_count",
    "feature_count",
    "features_json",
    "dropped_features_json",
    "k_chosen",
    "k_final",
    "score_name",
    "scores_by_k_json",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "smallest_cluster_size",
    "min_cluster_size",
    "merge_count",
    "merges_json",
    "noise_share",
    "matched_cluster_count",
    "ari_vs_previous",
    "fit_seconds",
    "model_json",
    # why this run fitted, and the population it was fitted on (drift reference, assignment)
    "refit_reason",
    "reference_bins_json",
    "assignment_sample_json",
    # the latest build's refit check (updated on the latest run by every build that keeps it)
    "checked_as_of_date",
    "check_decision",
    "check_reason",
    "check_model_age_days",
    "check_drift_major_share",
    "check_assignment_ari",
]
ASSIGNMENT_SAMPLE = 5000  # persons whose assignment at the fit the refit check compares against


def latest_run(runs: pd.DataFrame | None) -> pd.Series | None:
    """The most recent row of segment_model_runs (highest run_number), or None."""
    if runs is None or runs.empty:
        return None
    return runs.sort_values("run_number", kind="stable").iloc[-1]


def run_in_force(runs: pd.DataFrame) -> pd.Series:
    """The run whose model customer_clusters and the scoring tables apply: with the judged runs
    (segment_model_runs_judged, column is_in_force) the latest run that passed its quality
    gate, else the most recent run. Fails with a clear message when there is no run."""
    if "is_in_force" in runs.columns:
        runs = runs[runs["is_in_force"].fillna(False).astype(bool)]
    row = latest_run(runs)
    if row is None:
        raise ValueError("segment_model_runs has no run: build it before customer_clusters")
    return row


def latest_model(runs: pd.DataFrame) -> ClusterModel:
    """The model stored by the run in force (run_in_force)."""
    return ClusterModel.from_json(run_in_force(runs)["model_json"])


def _same_date(left, right) -> bool:
    left_na, right_na = left is None or pd.isna(left), right is None or pd.isna(right)
    if left_na or right_na:
        return left_na and right_na
    return pd.Timestamp(left).date() == pd.Timestamp(right).date()


def repeats_run(
    features: pd.DataFrame, params: ClusterParams, run: pd.Series | None, as_of_date
) -> bool:
    """Whether a fit now would repeat ``run``: the same input (persons and features), settings
    and as_of. The fit is deterministic, so it would give that run's model again."""
    if run is None:
        return False
    frame = features.sort_values("person_id", kind="stable").reset_index(drop=True)
    columns = list(params.features) or feature_columns(frame)
    if any(c not in frame.columns for c in columns):
        return False  # the fit reports the missing columns
    return (
        str(run["input_hash"]) == input_hash(frame, columns)
        and str(run["params_hash"]) == params.digest()
        and _same_date(run["as_of_date"], as_of_date)
    )


def assignment_sample(
    person_ids: pd.Series, labels: np.ndarray, size: int = ASSIGNMENT_SAMPLE
) -> str:
    """JSON {person_id: cluster_id} of at most `size` persons, chosen by a hash of the person id
    (the same persons on every build while they exist)."""
    ids = person_ids.astype(str).to_numpy()
    keys = np.array([hashlib.sha256(i.encode()).hexdigest()[:12] for i in ids])
    chosen = np.argsort(keys, kind="stable")[:size]
    return json.dumps(
        {ids[i]: int(labels[i]) for i in sorted(chosen, key=lambda i: ids[i])}, sort_keys=True
    )


def assignment_ari(model: ClusterModel, frame: pd.DataFrame, sample_json) -> float | None:
    """Adjusted Rand index between the stored model's assignment, at its fit, of the sampled
    persons (assignment_sample) and its assignment of the same persons today; None without a
    sample or with fewer than 2 of its persons left."""
    from sklearn.metrics import adjusted_rand_score

    if (
        sample_json is None
        or pd.isna(sample_json)
        or any(c not in frame.columns for c in model.features)
    ):
        return None
    stored = json.loads(sample_json)
    today = frame[frame["person_id"].astype(str).isin(stored)]
    if len(today) < 2:
        return None
    labels, _, _ = assign_matrix(model, model.standardise(today))
    before = [stored[str(p)] for p in today["person_id"]]
    return round(float(adjusted_rand_score(before, labels)), 6)


def refit_check(
    features: pd.DataFrame,
    params: ClusterParams,
    previous_row: pd.Series | None,
    as_of_date,
    policy: RefitPolicy,
    settings: DriftSettings,
) -> dict:
    """The refit check of one build against the latest run's model: its age, the drift of
    today's features against the population it was fitted on, the agreement of today's
    assignment with the one at its fit, and the decision (monitoring.refit_reason)."""
    check = {
        "checked_as_of_date": as_of_date,
        "check_model_age_days": None,
        "check_drift_major_share": None,
        "check_assignment_ari": None,
    }
    if previous_row is None:
        return {**check, "check_decision": "refit", "check_reason": "no_model"}
    frame = features.sort_values("person_id", kind="stable").reset_index(drop=True)
    age = model_age_days(previous_row["as_of_date"], as_of_date)
    bins_text = previous_row.get("reference_bins_json")
    drift = None
    if bins_text is not None and not pd.isna(bins_text):
        drift = major_share(drift_table(frame, json.loads(bins_text), settings))
    model = ClusterModel.from_json(previous_row["model_json"])
    ari = assignment_ari(model, frame, previous_row.get("assignment_sample_json"))
    reason = refit_reason(
        policy, True, str(previous_row["params_hash"]) != params.digest(), age, drift, ari
    )
    return {
        **check,
        "check_model_age_days": age,
        "check_drift_major_share": drift,
        "check_assignment_ari": ari,
        "check_decision": "kept" if reason is None else "refit",
        "check_reason": reason or "not_due",
    }


@single_threaded_when_small(0)
def model_run(
    features: pd.DataFrame,
    params: ClusterParams,
    previous_runs: pd.DataFrame | None,
    as_of_date,
    policy: RefitPolicy | None = None,
    settings: DriftSettings | None = None,
) -> pd.DataFrame:
    """One row of segment_model_runs. A refit is due (``refit_check``) when there is no model, a
    var forces it, the settings changed, the latest run's model is older than the policy's
    max age, today's features drifted (major PSI on a share of them) or today's assignment
    disagrees with the one at the fit. Then the model is fitted on today's features (matching
    clusters to the latest run's model), with every score, the merges, the agreement with the
    previous run, the serialised model, the reference bins of today's population and a sample
    of its assignment. Otherwise the latest run's row is returned with this build's check
    (check_*), and its model keeps scoring. The run id is a hash of the input, the settings and
    the previous run, so the same history gives the same ids. A build that repeats the latest
    run (``repeats_run``: a re-run of an interrupted or unchanged build) returns that run's row
    unchanged and fits nothing (unless the policy forces a refit): the model replaces it by
    run_id (delete+insert), so the log and the model every person is placed with stay those of
    the first build."""
    import time

    # direct use (tests, notebooks): every changed input refits (a repeated one does not)
    policy = policy or RefitPolicy(max_age_days=-1, rerun_keeps_fit=False)
    settings = settings or DriftSettings()
    previous_row = latest_run(previous_runs)
    if not policy.force and repeats_run(features, params, previous_row, as_of_date):
        return _typed_run_rows(
            pd.DataFrame([previous_row.reindex(RUN_COLUMNS).to_dict()], columns=RUN_COLUMNS)
        )
    if (
        not policy.force
        and policy.rerun_keeps_fit
        and previous_row is not None
        and str(previous_row["params_hash"]) == params.digest()
        and refitted_by_this_build(
            previous_row.get("checked_as_of_date"), previous_row.get("check_decision"), as_of_date
        )
    ):
        # a re-run of the build that fitted it, with the same settings (the input grew since)
        return _typed_run_rows(
            pd.DataFrame([previous_row.reindex(RUN_COLUMNS).to_dict()], columns=RUN_COLUMNS)
        )
    check = refit_check(features, params, previous_row, as_of_date, policy, settings)
    if check["check_decision"] == "kept":
        kept = previous_row.reindex(RUN_COLUMNS).to_dict()
        return _typed_run_rows(pd.DataFrame([{**kept, **check}], columns=RUN_COLUMNS))
    previous = (
        ClusterModel.from_json(previous_row["model_json"]) if previous_row is not None else None
    )
    started = time.perf_counter()
    model, summary = fit_cluster_model(features, params, previous)
    fit_seconds = time.perf_counter() - started
    previous_id = None if previous_row is None else str(previous_row["run_id"])
    run_id = hashlib.sha256(
        "|".join([summary["input_hash"], summary["params_hash"], previous_id or ""]).encode()
    ).hexdigest()[:16]
    validation = summary["validation"]
    frame = features.sort_values("person_id", kind="stable").reset_index(drop=True)
    requested = list(params.features) or feature_columns(frame)
    labels = assign_matrix(model, model.standardise(frame))[0] if len(frame) else np.zeros(0)
    row = {
        "run_id": run_id,
        "run_number": 1 if previous_row is None else int(previous_row["run_number"]) + 1,
        "previous_run_id": previous_id,
        "algorithm": summary["algorithm"],
        "as_of_date": as_of_date,
        "input_hash": summary["input_hash"],
        "params_hash": summary["params_hash"],
        "person_count": summary["person_count"],
        "feature_count": len(summary["features"]),
        "features_json": json.dumps(summary["features"]),
        "dropped_features_json": json.dumps(summary["dropped_features"], sort_keys=True),
        "k_chosen": summary["k_chosen"],
        "k_final": summary["k_final"],
        "score_name": summary["score_name"],
        "scores_by_k_json": json.dumps({str(k): v for k, v in summary["scores_by_k"].items()}),
        "silhouette": validation.get("silhouette"),
        "davies_bouldin": validation.get("davies_bouldin"),
        "calinski_harabasz": validation.get("calinski_harabasz"),
        "smallest_cluster_size": summary["smallest_cluster_size"],
        "min_cluster_size": params.min_cluster_size,
        "merge_count": len(summary["merges"]),
        "merges_json": json.dumps(summary["merges"]),
        "noise_share": summary["noise_share"],
        "matched_cluster_count": summary["matched_cluster_count"],
        "ari_vs_previous": summary["ari_vs_previous"],
        "fit_seconds": round(fit_seconds, 3),
        "model_json": model.to_json(),
        "refit_reason": check["check_reason"],
        "reference_bins_json": reference_bins_json(frame, requested, settings),
        "assignment_sample_json": assignment_sample(frame["person_id"], labels),
        **check,
    }
    return _typed_run_rows(pd.DataFrame([row], columns=RUN_COLUMNS))


def _typed_run_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """segment_model_runs rows with the log's column types."""
    for column in (
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "ari_vs_previous",
        "noise_share",
        "fit_seconds",
        "check_drift_major_share",
        "check_assignment_ari",
    ):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in (
        "run_number",
        "person_count",
        "feature_count",
        "k_chosen",
        "k_final",
        "smallest_cluster_size",
        "min_cluster_size",
        "merge_count",
        "matched_cluster_count",
    ):
        frame[column] = frame[column].astype("int64")
    for column in (
        "run_id",
        "previous_run_id",
        "algorithm",
        "input_hash",
        "params_hash",
        "features_json",
        "dropped_features_json",
        "score_name",
        "scores_by_k_json",
        "merges_json",
        "model_json",
        "refit_reason",
        "reference_bins_json",
        "assignment_sample_json",
        "check_decision",
        "check_reason",
    ):
        frame[column] = frame[column].astype("string")  # typed even when null (first run)
    frame["check_model_age_days"] = pd.to_numeric(
        frame["check_model_age_days"], errors="coerce"
    ).astype("Int64")
    for column in ("as_of_date", "checked_as_of_date"):
        frame[column] = [
            None if v is None or pd.isna(v) else pd.Timestamp(v).date() for v in frame[column]
        ]
    return frame


def params_from_meta(text: str) -> ClusterParams:
    """ClusterParams from the JSON the model's meta carries (rendered from dbt vars)."""
    raw = json.loads(text) if isinstance(text, str) else dict(text)
    params = {k: v for k, v in raw.items() if k in ClusterParams.__dataclass_fields__}
    if "k_min" in raw or "k_max" in raw:
        params["k_values"] = list(range(int(raw["k_min"]), int(raw["k_max"]) + 1))
    for key in ("hierarchical_k", "dbscan_eps"):
        if params.get(key) in ("", "none", "None"):
            params[key] = None
    if isinstance(params.get("features"), str):
        params["features"] = json.loads(params["features"])
    if isinstance(params.get("imputed_flags"), str):
        params["imputed_flags"] = json.loads(params["imputed_flags"] or "{}")
    if params.get("imputed_flags") is None:
        params.pop("imputed_flags", None)
    return ClusterParams(**params)
