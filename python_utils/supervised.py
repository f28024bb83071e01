"""Supervised building blocks for the dbt Python models (pandas / scikit-learn in, pandas out).

- `train_churn_model` learns P(no purchase in the next N days) from a point-in-time training
  mart and scores today's customers, with holdout metrics, a calibration table and the top
  drivers (permutation importance).
- `train_segment_classifier` predicts a person's segment (cluster or rule segment) from
  early-behaviour features, with holdout accuracy / F1 against a majority-class baseline.
- `permutation_importance_table` ranks the features that explain any binary or multiclass
  target, as a long table (one row per feature) for reporting.

Point-in-time training: the churn training mart is built by SQL with every feature computed
as of (as_of - N days) and the label taken from the N days that follow, while the scoring mart
has the same features computed as of today. No training row sees the period its label comes
from, so there is no leakage, provided the two frames are never mixed: the code here fits only
on `training` rows and only predicts `scoring` rows (the features are taken from `training` and
merely looked up in `scoring`).

Plain, typed, deterministic functions: inputs are sorted by person_id first (so row order never
matters), models use fixed seeds and no early stopping, and the holdout is chosen by a stable
hash of person_id (`holdout_mask`), never by random order. Column names are lower-case in and
out. Floats in summaries are rounded to 6 decimals; NaN marks a metric that is undefined (no
holdout, a single class).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, f1_score, get_scorer, log_loss, roc_auc_score

ID_COLUMNS = ("person_id", "customer_id")
HOLDOUT_BUCKETS = 10_000
CALIBRATION_BINS = 10
PERMUTATION_REPEATS = 5
GBM_SETTINGS = {"learning_rate": 0.05, "max_leaf_nodes": 15, "l2_regularization": 0.1}

SCORE_COLUMNS = ["person_id", "churn_probability", "churn_risk_tier"]
SEGMENT_COLUMNS = ["person_id", "predicted_segment", "predicted_probability",
                   "actual_segment", "is_holdout"]
IMPORTANCE_COLUMNS = ["task", "feature", "importance_mean", "importance_std",
                      "importance_rank", "baseline_score", "scoring"]

NAN = float("nan")


# --- shared helpers -------------------------------------------------------------------------

def model_feature_columns(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """Numeric model inputs of a mart: everything but ids, the label / target columns named in
    `exclude` and is_* flags; sorted, so the engine's column order never changes a fit."""
    skipped = set(ID_COLUMNS) | set(exclude)
    return sorted(
        c for c in frame.columns
        if c not in skipped and not str(c).startswith("is_")
        and pd.api.types.is_numeric_dtype(frame[c])
    )


def _hash_int(value: str, salt: str = "") -> int:
    """The first 8 bytes of sha256(salt + value), as an unsigned big-endian integer."""
    return int.from_bytes(hashlib.sha256((salt + value).encode("utf-8")).digest()[:8], "big")


def holdout_mask(ids: pd.Series, share: float) -> np.ndarray:
    """True for the holdout persons: sha256 of the id string (first 8 bytes, big-endian) mod
    10_000 below share * 10_000. A person's side never depends on the row order or on who else
    is in the frame, so the split is the same on every run."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"holdout share must be between 0 and 1, got {share}")
    threshold = round(share * HOLDOUT_BUCKETS)
    buckets = np.fromiter((_hash_int(str(v)) % HOLDOUT_BUCKETS for v in ids),
                          dtype=np.int64, count=len(ids))
    return buckets < threshold


def _by_person(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A copy with person_id as text, sorted by it; one row per person is required."""
    if "person_id" not in frame.columns:
        raise ValueError(f"{name} has no person_id column")
    if frame["person_id"].isna().any():
        raise ValueError(f"{name} has rows without a person_id")
    out = frame.copy()
    out["person_id"] = out["person_id"].astype(str)
    if out["person_id"].duplicated().any():
        raise ValueError(f"{name} has more than one row per person_id")
    return out.sort_values("person_id", kind="stable").reset_index(drop=True)


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}")


def _matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Float matrix of the columns; nulls become NaN (the boosted trees route them natively)."""
    return frame[columns].to_numpy(dtype="float64", na_value=np.nan).reshape(len(frame),
                                                                             len(columns))


def _round(value) -> float:
    """6-decimal float (NaN stays NaN, -0.0 becomes 0.0)."""
    return round(float(value), 6) + 0.0


def _classifier(seed: int, max_iter: int) -> HistGradientBoostingClassifier:
    """The one model family used here: deterministic (fixed seed, no early stopping)."""
    return HistGradientBoostingClassifier(max_iter=max_iter, early_stopping=False,
                                          random_state=seed, **GBM_SETTINGS)


def _binary_labels(series: pd.Series, label: str) -> np.ndarray:
    """0/1 (or bool) labels as floats, NaN where missing; anything else is an error."""
    def convert(value) -> float:
        if value is None or pd.isna(value):
            return NAN
        if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)) \
                and value in (0, 1):
            return float(value)
        raise ValueError(f"label {label!r} must be 0/1 or boolean, found {value!r}")
    return np.array([convert(v) for v in series.tolist()], dtype="float64")


def _label_strings(series: pd.Series) -> np.ndarray:
    """Class labels as text (None where missing); integral floats lose their '.0'."""
    def convert(value):
        if value is None or pd.isna(value):
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return np.array([convert(v) for v in series.tolist()], dtype=object)


def _ranked_importances(model, x: np.ndarray, y: np.ndarray, features: list[str], scoring,
                        seed: int, n_repeats: int) -> list[dict]:
    """Permutation importance on (x, y), sorted by mean decrease desc, then feature name."""
    result = permutation_importance(model, x, y, scoring=scoring, n_repeats=n_repeats,
                                    random_state=seed)
    rows = [{"feature": f, "importance_mean": _round(m), "importance_std": _round(s)}
            for f, m, s in zip(features, result.importances_mean, result.importances_std)]
    return sorted(rows, key=lambda r: (-r["importance_mean"], r["feature"]))


# --- churn -----------------------------------------------------------------------------------

def _neg_brier(estimator, x: np.ndarray, y: np.ndarray) -> float:
    """Scorer used for drivers when the holdout has one class (AUC undefined)."""
    return -float(np.mean((estimator.predict_proba(x)[:, 1] - y) ** 2))


def calibration_table(y: np.ndarray, probability: np.ndarray,
                      bins: int = CALIBRATION_BINS) -> list[dict]:
    """Equal-count bins of the predicted probability (by rank; ties in row order, i.e. by
    person_id): bin 1..bins, n, mean_predicted, observed_rate. Fewer than `bins` rows give one
    row per person; empty input gives []."""
    n = len(probability)
    if n == 0:
        return []
    bin_of = np.empty(n, dtype=np.int64)
    bin_of[np.argsort(probability, kind="stable")] = np.arange(n) * bins // n
    table = []
    for b in np.unique(bin_of):
        members = bin_of == b
        table.append({"bin": int(b) + 1, "n": int(members.sum()),
                      "mean_predicted": _round(probability[members].mean()),
                      "observed_rate": _round(y[members].mean())})
    return table


def _evaluate_churn(x_fit: np.ndarray, y_fit: np.ndarray, x_hold: np.ndarray,
                    y_hold: np.ndarray, features: list[str], seed: int, max_iter: int,
                    top_drivers: int) -> dict:
    """Holdout metrics of a model fitted on the non-holdout rows (NaN / empty when the fit or
    the holdout cannot support them)."""
    metrics = {"auc": NAN, "brier": NAN, "log_loss": NAN, "calibration": [],
               "top_drivers": [], "driver_scoring": None}
    if not features or len(np.unique(y_fit)) < 2 or len(y_hold) == 0:
        return metrics
    model = _classifier(seed, max_iter).fit(x_fit, y_fit)
    probability = model.predict_proba(x_hold)[:, 1]
    two_classes = len(np.unique(y_hold)) == 2
    scoring = "roc_auc" if two_classes else _neg_brier
    metrics.update({
        "auc": _round(roc_auc_score(y_hold, probability)) if two_classes else NAN,
        "brier": _round(np.mean((probability - y_hold) ** 2)),
        "log_loss": _round(log_loss(y_hold, probability, labels=[0, 1])),
        "calibration": calibration_table(y_hold, probability),
        "top_drivers": _ranked_importances(model, x_hold, y_hold, features, scoring, seed,
                                           PERMUTATION_REPEATS)[:top_drivers],
        "driver_scoring": "roc_auc" if two_classes else "neg_brier_score",
    })
    return metrics


def risk_tiers(probability: np.ndarray, high_threshold: float = 0.66,
               medium_threshold: float = 0.33) -> list[str | None]:
    """'high' at or above high_threshold, 'medium' at or above medium_threshold, else 'low';
    None where the probability is NaN."""
    return [None if p != p else "high" if p >= high_threshold
            else "medium" if p >= medium_threshold else "low" for p in probability]


def _churn_scores(person_ids: pd.Series, probability: np.ndarray, high_threshold: float,
                  medium_threshold: float) -> pd.DataFrame:
    rounded = np.round(np.asarray(probability, dtype="float64"), 6)
    return pd.DataFrame({
        "person_id": person_ids.astype(str).to_numpy(),
        "churn_probability": rounded,
        "churn_risk_tier": pd.Series(risk_tiers(rounded, high_threshold, medium_threshold),
                                     dtype=object),
    }, columns=SCORE_COLUMNS)


def train_churn_model(training: pd.DataFrame, scoring: pd.DataFrame, label: str = "is_churned",
                      seed: int = 42, holdout_share: float = 0.25, max_iter: int = 200,
                      top_drivers: int = 10, high_threshold: float = 0.66,
                      medium_threshold: float = 0.33) -> tuple[pd.DataFrame, dict]:
    """Fit a churn model on the point-in-time training mart and score today's customers.

    `training` has one row per customer at the past cutoff: person_id, the 0/1 (or boolean)
    `label` (1 = no purchase in the following N days; rows with a null label are skipped) and
    the feature columns (`model_feature_columns`). `scoring` has person_id and the same
    feature columns computed as of today.

    A HistGradientBoostingClassifier is fitted on the non-holdout rows (`holdout_mask`) and
    evaluated on the holdout: ROC AUC (NaN with one class), Brier score, log loss, base rates,
    a 10-bin calibration table and the top drivers by permutation importance (roc_auc; the
    negative Brier score when the holdout has one class). The model that scores `scoring` is
    then refitted on ALL training rows with the same settings, so the reported metrics describe
    the holdout-fitted twin of the scoring model.

    Returns (scores, summary): scores has person_id, churn_probability (6 decimals) and
    churn_risk_tier, sorted by person_id. With no training rows, a single label class or no
    feature columns there is no model: everyone gets the training base rate (NaN, and tier
    None, without training rows) and the summary's algorithm is "constant_base_rate".
    """
    train = _by_person(training, "training")
    score = _by_person(scoring, "scoring")
    _require_columns(train, [label], "training")
    features = model_feature_columns(train, exclude=(label,))
    _require_columns(score, features, "scoring")
    y_all = _binary_labels(train[label], label)
    labelled = ~np.isnan(y_all)
    train, y = train[labelled].reset_index(drop=True), y_all[labelled].astype(np.int64)
    x = _matrix(train, features)
    hold = holdout_mask(train["person_id"], holdout_share)

    has_model = bool(features) and len(np.unique(y)) == 2
    if has_model:
        model = _classifier(seed, max_iter).fit(x, y)
        probability = (model.predict_proba(_matrix(score, features))[:, 1] if len(score)
                       else np.zeros(0))
        evaluation = _evaluate_churn(x[~hold], y[~hold], x[hold], y[hold], features, seed,
                                     max_iter, top_drivers)
    else:
        probability = np.full(len(score), y.mean() if len(y) else NAN)
        evaluation = _evaluate_churn(x[:0], y[:0], x[:0], y[:0], [], seed, max_iter, 0)

    summary = {
        "model": "churn",
        "algorithm": "hist_gradient_boosting" if has_model else "constant_base_rate",
        "n_train": int((~hold).sum()),
        "n_holdout": int(hold.sum()),
        "n_label_missing": int((~labelled).sum()),
        "n_scored": int(len(score)),
        "features": features,
        "auc": evaluation["auc"],
        "brier": evaluation["brier"],
        "log_loss": evaluation["log_loss"],
        "base_rate_train": _round(y[~hold].mean()) if (~hold).any() else NAN,
        "base_rate_holdout": _round(y[hold].mean()) if hold.any() else NAN,
        "calibration": evaluation["calibration"],
        "top_drivers": evaluation["top_drivers"],
        "driver_scoring": evaluation["driver_scoring"],
        "params": {"label": label, "seed": seed, "holdout_share": holdout_share,
                   "max_iter": max_iter, **GBM_SETTINGS, "early_stopping": False,
                   "top_drivers": top_drivers, "permutation_repeats": PERMUTATION_REPEATS,
                   "high_threshold": high_threshold, "medium_threshold": medium_threshold,
                   "refit_on_all_training_rows": True},
    }
    return _churn_scores(score["person_id"], probability, high_threshold,
                         medium_threshold), summary


# --- segment classifier ----------------------------------------------------------------------

def _majority(labels: np.ndarray) -> str | None:
    """Most frequent label (ties: the smallest label), None when there is none."""
    if len(labels) == 0:
        return None
    values, counts = np.unique(labels.astype(str), return_counts=True)
    return str(values[np.lexsort((values, -counts))][0])


def _segment_metrics(x_fit: np.ndarray, y_fit: np.ndarray, x_hold: np.ndarray,
                     y_hold: np.ndarray, seed: int, max_iter: int) -> dict:
    """Holdout accuracy and F1 of a model fitted on the non-holdout rows, and the accuracy of
    always predicting the non-holdout majority class. F1 covers the labels present in the
    holdout truth or predictions. NaN when the fit or the holdout cannot support them."""
    metrics = {"accuracy": NAN, "f1_macro": NAN, "f1_weighted": NAN, "f1_per_class": {},
               "baseline_accuracy": NAN}
    if len(y_hold) == 0 or len(y_fit) == 0:
        return metrics
    metrics["baseline_accuracy"] = _round(np.mean(y_hold == _majority(y_fit)))
    if x_fit.shape[1] == 0 or len(np.unique(y_fit)) < 2:
        return metrics
    predicted = _classifier(seed, max_iter).fit(x_fit, y_fit).predict(x_hold)
    labels = sorted(set(y_hold) | set(predicted))
    per_class = f1_score(y_hold, predicted, labels=labels, average=None, zero_division=0)
    metrics.update({
        "accuracy": _round(accuracy_score(y_hold, predicted)),
        "f1_macro": _round(f1_score(y_hold, predicted, average="macro", zero_division=0)),
        "f1_weighted": _round(f1_score(y_hold, predicted, average="weighted",
                                       zero_division=0)),
        "f1_per_class": {str(k): _round(v) for k, v in zip(labels, per_class)},
    })
    return metrics


def train_segment_classifier(training: pd.DataFrame, target: str, seed: int = 42,
                             holdout_share: float = 0.25,
                             max_iter: int = 150) -> tuple[pd.DataFrame, dict]:
    """Predict each person's segment (`target`: e.g. cluster_id or primary rule segment, text
    or integer) from their early-behaviour features (the other numeric columns).

    A multiclass HistGradientBoostingClassifier is fitted on the non-holdout labelled rows and
    evaluated on the holdout: accuracy, macro / weighted / per-class F1 and the majority-class
    baseline accuracy. It is then refitted on ALL labelled rows and predicts every row of
    `training` (the same persons' early features), so predictions for holdout rows come from a
    model that saw them; the holdout metrics are the out-of-sample numbers. Rows with a null
    target are not fitted on but still get a prediction (actual_segment null).

    Returns (predictions, summary): person_id, predicted_segment (text), predicted_probability
    (highest class probability, 6 decimals), actual_segment (text) and is_holdout, sorted by
    person_id. With one class, fewer than 2 labelled rows or no features there is no model:
    everyone gets the majority class with its share (1.0 for a single class), metrics NaN.
    """
    frame = _by_person(training, "training")
    _require_columns(frame, [target], "training")
    features = model_feature_columns(frame, exclude=(target,))
    actual = _label_strings(frame[target])
    known = np.array([a is not None for a in actual], dtype=bool)
    x, y = _matrix(frame, features), actual.astype(str)
    hold = holdout_mask(frame["person_id"], holdout_share)
    classes = sorted(set(y[known]))

    has_model = bool(features) and len(classes) >= 2 and known.sum() >= 2
    if has_model:
        metrics = _segment_metrics(x[known & ~hold], y[known & ~hold], x[known & hold],
                                   y[known & hold], seed, max_iter)
        model = _classifier(seed, max_iter).fit(x[known], y[known])
        proba = model.predict_proba(x) if len(x) else np.zeros((0, len(classes)))
        predicted = model.classes_[proba.argmax(axis=1)].astype(object)
        probability = proba.max(axis=1) if len(x) else np.zeros(0)
    else:
        metrics = _segment_metrics(x[:0], y[:0], x[:0], y[:0], seed, max_iter)
        majority = _majority(y[known])
        share = np.mean(y[known] == majority) if known.any() else NAN
        predicted = np.array([majority] * len(frame), dtype=object)
        probability = np.full(len(frame), share)

    predictions = pd.DataFrame({
        "person_id": frame["person_id"].astype(str).to_numpy(),
        "predicted_segment": pd.Series(predicted, dtype=object),
        "predicted_probability": np.round(np.asarray(probability, dtype="float64"), 6),
        "actual_segment": pd.Series(actual, dtype=object),
        "is_holdout": hold.astype(bool),
    }, columns=SEGMENT_COLUMNS)
    counts = pd.Series(y[known]).value_counts()
    summary = {
        "model": "segment_classifier",
        "target": target,
        "algorithm": "hist_gradient_boosting" if has_model else "majority_class",
        "n_train": int((known & ~hold).sum()),
        "n_holdout": int((known & hold).sum()),
        "n_target_missing": int((~known).sum()),
        "n_predicted": int(len(frame)),
        "features": features,
        "classes": classes,
        "class_counts": {c: int(counts[c]) for c in classes},
        **metrics,
        "params": {"target": target, "seed": seed, "holdout_share": holdout_share,
                   "max_iter": max_iter, **GBM_SETTINGS, "early_stopping": False,
                   "refit_on_all_training_rows": True},
    }
    return predictions, summary


# --- permutation importance table ------------------------------------------------------------

def hash_sample(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """At most max_rows rows of a person-sorted frame: those with the smallest salted sha256 of
    person_id (independent of the holdout hash), returned in person_id order. Deterministic,
    and a person's membership does not depend on row order."""
    if len(frame) <= max_rows:
        return frame
    keys = np.fromiter((_hash_int(str(v), salt="sample:") for v in frame["person_id"]),
                       dtype=np.uint64, count=len(frame))
    chosen = np.sort(np.argsort(keys, kind="stable")[:max_rows])
    return frame.iloc[chosen].reset_index(drop=True)


def permutation_importance_table(frame: pd.DataFrame, target: str, task_name: str,
                                 seed: int = 42, holdout_share: float = 0.25,
                                 n_repeats: int = 5, max_rows: int = 20_000,
                                 exclude: Iterable[str] = ()) -> pd.DataFrame:
    """How much each feature matters for predicting `target`, as one row per feature.

    Rows with a null target are dropped, then at most max_rows persons are kept (`hash_sample`,
    not random). A HistGradientBoostingClassifier (max_iter 100) is fitted on the non-holdout
    rows; on the holdout, each feature is shuffled n_repeats times (fixed seed) and the drop of
    the score is its importance. Scoring: roc_auc for a binary target, f1_macro (every class
    weighs the same, so small segments count) for a multiclass one.

    Returns task (= task_name), feature, importance_mean, importance_std, importance_rank
    (1 = most important; ties by feature name; zero and negative importances are kept and
    ranked), baseline_score (the unshuffled holdout score) and scoring. When no model can be
    evaluated (a single class, an empty side of the split, a one-class binary holdout) every
    importance is 0 and baseline_score is NaN.
    """
    data = _by_person(frame, "frame")
    _require_columns(data, [target], "frame")
    features = model_feature_columns(data, exclude=(target, *exclude))
    labels = _label_strings(data[target])
    data = hash_sample(data[labels != None].reset_index(drop=True), max_rows)  # noqa: E711
    y = _label_strings(data[target]).astype(str)
    x = _matrix(data, features)
    hold = holdout_mask(data["person_id"], holdout_share)
    scoring = "roc_auc" if len(set(y)) <= 2 else "f1_macro"

    usable = (bool(features) and len(set(y[~hold])) >= 2 and hold.any()
              and (scoring != "roc_auc" or len(set(y[hold])) == 2))
    if usable:
        model = _classifier(seed, 100).fit(x[~hold], y[~hold])
        baseline = _round(get_scorer(scoring)(model, x[hold], y[hold]))
        rows = _ranked_importances(model, x[hold], y[hold], features, scoring, seed, n_repeats)
    else:
        baseline = NAN
        rows = [{"feature": f, "importance_mean": 0.0, "importance_std": 0.0}
                for f in features]

    table = pd.DataFrame(rows, columns=["feature", "importance_mean", "importance_std"])
    table = table.sort_values(["importance_mean", "feature"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)
    table.insert(0, "task", task_name)
    table["importance_rank"] = np.arange(1, len(table) + 1, dtype=np.int64)
    table["baseline_score"] = baseline
    table["scoring"] = scoring
    return table.astype({"task": object, "feature": object, "importance_mean": "float64",
                         "importance_std": "float64", "baseline_score": "float64",
                         "scoring": object})[IMPORTANCE_COLUMNS]
