"""Supervised building blocks for the dbt Python models (pandas / scikit-learn in, pandas out).

- `train_churn_model` learns P(no purchase in the next N days) from a point-in-time training
  mart and scores today's customers, with holdout metrics, a calibration table and the top
  drivers (permutation importance).
- `train_segment_classifier` predicts a person's segment (cluster or rule segment) from
  early-behaviour features, with holdout accuracy / F1 against a majority-class baseline.
- `permutation_importance_table` ranks the features that explain any binary or multiclass
  target, as a long table (one row per feature) for reporting.
- `StoredModel` is a fitted model as supervised_model_runs stores it (`fit_churn_model` and
  `fit_segment_classifier` make it, `to_blob` / `from_blob` serialise it) and the scoring models
  apply it (`churn_probability`, `predict_segments`) once `model_in_force` has picked the run
  in force: fitting and scoring are separate, so a model that fails its gate never scores.

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

import base64
import hashlib
import io
import json
import lzma
import pickle
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score, get_scorer, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

HOLDOUT_BUCKETS = 10_000
CALIBRATION_BINS = 10
PERMUTATION_REPEATS = 5
# Above this many labelled persons a model is fitted on a deterministic sample of them
# (`hash_sample`): the fit cost stops growing with the data, the scores still cover everyone.
# The dbt models pass var('model_max_training_rows'); this is the library default.
MAX_TRAINING_ROWS = 20_000
GBM_SETTINGS = {"learning_rate": 0.1, "max_leaf_nodes": 15, "l2_regularization": 0.1}
SINGLE_THREAD_BELOW = 100_000  # rows; see `_threads_for`
# Boosting rounds of the models that only rank features (permutation_importance_table). With
# learning_rate 0.1, 50 rounds rank the same top features as 100 rounds at 0.05 on the ML test
# data, at half the fit and predict cost (every shuffle re-predicts every tree).
IMPORTANCE_MAX_ITER = 50

SCORE_COLUMNS = ["person_id", "churn_probability", "churn_risk_tier"]
SEGMENT_COLUMNS = [
    "person_id",
    "predicted_segment",
    "predicted_probability",
    "actual_segment",
    "is_holdout",
]
IMPORTANCE_COLUMNS = [
    "task",
    "feature",
    "importance_mean",
    "importance_std",
    "importance_rank",
    "baseline_score",
    "scoring",
]

NAN = float("nan")


# --- shared helpers -------------------------------------------------------------------------


def model_feature_columns(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """Numeric model inputs of a mart: everything but ids, the label / target columns named in
    `exclude` and is_* flags; sorted, so the engine's column order never changes a fit."""
    from python_utils.clustering import feature_columns

    skipped = set(exclude)
    return [c for c in feature_columns(frame) if c not in skipped]


def _hash_ints(values: Iterable, salt: str = "") -> np.ndarray:
    """The first 8 bytes of sha256(salt + str(value)) of every value, as unsigned big-endian
    integers (uint64)."""
    digests = b"".join(hashlib.sha256((salt + str(v)).encode("utf-8")).digest()[:8] for v in values)
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64)


def holdout_mask(ids: pd.Series, share: float) -> np.ndarray:
    """True for the holdout persons: sha256 of the id string (first 8 bytes, big-endian) mod
    10_000 below share * 10_000. A person's side never depends on the row order or on who else
    is in the frame, so the split is the same on every run."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"holdout share must be between 0 and 1, got {share}")
    threshold = round(share * HOLDOUT_BUCKETS)
    return _hash_ints(ids) % np.uint64(HOLDOUT_BUCKETS) < threshold


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
    return (
        frame[columns].to_numpy(dtype="float64", na_value=np.nan).reshape(len(frame), len(columns))
    )


def _round(value) -> float:
    """6-decimal float (NaN stays NaN, -0.0 becomes 0.0)."""
    return round(float(value), 6) + 0.0


def _threads_for(n_rows: int) -> threadpool_limits:
    """One OpenMP thread for small inputs: every boosted-tree fit and predict (permutation
    importance predicts dozens of times) otherwise pays a thread start-up that costs more than
    it saves, many times over on a busy machine. The results do not depend on the count."""
    return threadpool_limits(limits=1 if n_rows < SINGLE_THREAD_BELOW else None, user_api="openmp")


def _classifier(seed: int, max_iter: int) -> HistGradientBoostingClassifier:
    """The one model family used here: deterministic (fixed seed, no early stopping)."""
    return HistGradientBoostingClassifier(
        max_iter=max_iter, early_stopping=False, random_state=seed, **GBM_SETTINGS
    )


def _binary_labels(series: pd.Series, label: str) -> np.ndarray:
    """0/1 (or bool) labels as floats, NaN where missing; anything else is an error."""

    def convert(value) -> float:
        if value is None or pd.isna(value):
            return NAN
        if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)) and value in (
            0,
            1,
        ):
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


def _present(labels: np.ndarray) -> np.ndarray:
    """True where a `_label_strings` label is not missing."""
    return np.array([v is not None for v in labels], dtype=bool)


class _TreeOutputs:
    """The per-tree outputs of a fitted HistGradientBoostingClassifier on one matrix, so that
    a copy with one column shuffled re-predicts only the trees that split on that column (on the
    build's data a feature is used by a fifth of the trees on average): the other trees'
    outputs are the same numbers. The raw prediction is then summed tree by tree in the
    estimator's own order (baseline, then iteration by iteration), so it is bit-identical to
    `_raw_predict`, and so are the scores (test_supervised compares them with sklearn's
    permutation_importance). Reads the fitted trees (`_predictors`, `_bin_mapper`,
    `_baseline_prediction`, `_loss`) of scikit-learn 1.9, which pyproject.toml pins."""

    def __init__(self, model: HistGradientBoostingClassifier, x: np.ndarray):
        self.model = model
        self.x = np.ascontiguousarray(x, dtype="float64")
        self.bitsets, self.index_map = model._bin_mapper.make_known_categories_bitsets()
        self.trees = [tree for iteration in model._predictors for tree in iteration]
        self.per_iteration = model.n_trees_per_iteration_
        self.outputs = np.stack([self._predict(tree, self.x) for tree in self.trees])
        self.features_of = [
            set(tree.nodes["feature_idx"][tree.nodes["is_leaf"] == 0].tolist())
            for tree in self.trees
        ]

    def _predict(self, tree, x: np.ndarray) -> np.ndarray:
        return tree.predict(
            x, known_cat_bitsets=self.bitsets, f_idx_map=self.index_map, n_threads=1
        )

    def raw(self, shuffled: np.ndarray | None = None, column: int | None = None) -> np.ndarray:
        """(rows, trees per iteration) raw predictions of x, or of x with `column` replaced by
        `shuffled`."""
        outputs = self.outputs
        if column is not None:
            copy = self.x.copy()
            copy[:, column] = shuffled
            outputs = outputs.copy()
            for t, used in enumerate(self.features_of):
                if column in used:
                    outputs[t] = self._predict(self.trees[t], copy)
        raw = np.zeros((len(self.x), self.per_iteration), dtype="float64", order="F")
        raw += self.model._baseline_prediction
        for t in range(len(self.trees)):
            raw[:, t % self.per_iteration] += outputs[t]
        return raw


def _macro_f1(truth: np.ndarray, predicted: np.ndarray, n_labels: int) -> float:
    """sklearn's f1_score(average="macro") of labels coded 0 .. n_labels - 1 in sorted label
    order, over the labels present in either, with its arithmetic (per label 2 tp / (true +
    predicted), then their mean) but without its per-call input checks, which cost more than
    the score when a permutation importance scores hundreds of shuffles."""
    true_sum = np.bincount(truth, minlength=n_labels)
    predicted_sum = np.bincount(predicted, minlength=n_labels)
    hits = np.bincount(truth[truth == predicted], minlength=n_labels)
    present = (true_sum + predicted_sum) > 0
    return float(
        np.mean(
            2.0
            * hits[present].astype("float64")
            / (true_sum[present] + predicted_sum[present]).astype("float64")
        )
    )


def _response_and_metric(model, y: np.ndarray, scoring):
    """(what the model answers from its raw predictions, how a score is computed from it, the
    labels the metric compares with) for a scoring name, as sklearn's scorers do: roc_auc
    ranks decision_function, f1_macro compares predict (as positions in the sorted labels,
    `_macro_f1`), _neg_brier compares predict_proba."""
    if scoring == "roc_auc":
        return (lambda raw: raw.ravel()), roc_auc_score, y
    if scoring == "f1_macro":
        labels = np.union1d(model.classes_.astype(str), np.asarray(y).astype(str))
        predicted = np.searchsorted(labels, model.classes_.astype(str))
        truth = np.searchsorted(labels, np.asarray(y).astype(str))

        def metric(t: np.ndarray, answer: np.ndarray) -> float:
            return _macro_f1(t, answer, len(labels))

        if model.n_trees_per_iteration_ == 1:  # binary: as predict, "> 0"
            return (lambda raw: predicted[(raw.ravel() > 0).astype(int)]), metric, truth
        return (lambda raw: predicted[np.argmax(raw, axis=1)]), metric, truth
    if scoring is _neg_brier:
        return (lambda raw: model._loss.predict_proba(raw)[:, 1]), _negative_brier_score, y
    raise ValueError(f"unknown scoring {scoring!r}")


def _shuffled_columns(x: np.ndarray, seed: int, n_repeats: int):
    """(column, its shuffled values) for every column and repeat in that order, with sklearn's
    permutation_importance shuffles: one seed drawn from `seed`, and each column shuffled
    cumulatively by a fresh RandomState of it."""
    n_rows, n_features = x.shape
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    for column in range(n_features):
        state = np.random.RandomState(column_seed)
        order = np.arange(n_rows)
        shuffled = x[:, column].copy()
        for _ in range(n_repeats):
            state.shuffle(order)
            shuffled = shuffled[order]
            yield column, shuffled


def _permutation_scores(
    model, x: np.ndarray, y: np.ndarray, scoring, seed: int, n_repeats: int
) -> tuple[float, np.ndarray]:
    """(baseline score, scores[feature, repeat]) of sklearn's permutation_importance with the
    same shuffles, but a shuffled copy re-predicts only the trees that split on the shuffled
    column (`_TreeOutputs`), which makes it several times cheaper; the scores are the same
    numbers (test_supervised compares them)."""
    respond, metric, truth = _response_and_metric(model, y, scoring)
    trees = _TreeOutputs(model, x)
    scores = [
        metric(truth, respond(trees.raw(shuffled, column)))
        for column, shuffled in _shuffled_columns(trees.x, seed, n_repeats)
    ]
    return metric(truth, respond(trees.raw())), np.array(scores, "float64").reshape(
        x.shape[1], n_repeats
    )


def _ranked_importances(
    model, x: np.ndarray, y: np.ndarray, features: list[str], scoring, seed: int, n_repeats: int
) -> list[dict]:
    """Permutation importance on (x, y), sorted by mean decrease desc, then feature name."""
    baseline, scores = _permutation_scores(model, x, y, scoring, seed, n_repeats)
    drops = baseline - scores
    rows = [
        {"feature": f, "importance_mean": _round(m), "importance_std": _round(s)}
        for f, m, s in zip(features, drops.mean(axis=1), drops.std(axis=1))
    ]
    return sorted(rows, key=lambda r: (-r["importance_mean"], r["feature"]))


# --- stored models --------------------------------------------------------------------------

MODEL_FORMAT = "segments-model/1"


def _library_versions() -> dict[str, str]:
    import sklearn

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__}


@dataclass(frozen=True)
class StoredModel:
    """A fitted supervised model as a run of supervised_model_runs stores it (model_blob) and
    the scoring models apply it: model_name ('churn' or 'segment_classifier'), the algorithm
    (hist_gradient_boosting, or constant_base_rate / majority_class when the data allowed no
    model), the feature columns it reads (in order), and either the fitted estimator or the
    constant it predicts (the base rate; the majority class and its share)."""

    model_name: str
    algorithm: str
    features: tuple[str, ...]
    estimator: HistGradientBoostingClassifier | None = None
    constant_probability: float = NAN
    constant_class: str | None = None

    def to_blob(self) -> str:
        """Text for the log: '<MODEL_FORMAT> scikit-learn=<v> numpy=<v> <payload>', the payload
        base64 of the xz-compressed (lzma preset 1) pickle (protocol 5) of a plain dict. The
        same fit gives the same text, byte for byte (checked by the tests): the pickle is
        written without a memo, every object in full, so it depends on the fitted values alone
        and not on which equal objects (strings) happen to be shared in the process that writes
        it."""
        versions = _library_versions()
        payload = {
            "format": MODEL_FORMAT,
            "model_name": self.model_name,
            "algorithm": self.algorithm,
            "features": list(self.features),
            "estimator": self.estimator,
            "constant_probability": float(self.constant_probability),
            "constant_class": self.constant_class,
            "versions": versions,
        }
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=5)
        pickler.fast = True  # no memo (the models hold no cycles): identity-free output
        pickler.dump(payload)
        packed = base64.b64encode(lzma.compress(buffer.getvalue(), preset=1))
        header = " ".join([MODEL_FORMAT, *(f"{k}={v}" for k, v in versions.items())])
        return f"{header} {packed.decode('ascii')}"

    @classmethod
    def from_blob(cls, text: str) -> StoredModel:
        """The model `to_blob` wrote. A fitted estimator loads only under the scikit-learn
        version that stored it (another version may unpickle it and predict wrongly): anything
        else is an error that names both versions. Unpickling runs code from the text, so only
        the build itself may write the log (as it does)."""
        header, _, packed = str(text).rpartition(" ")
        if not header.startswith(MODEL_FORMAT + " "):
            raise ValueError(f"not a stored model of format {MODEL_FORMAT}: {str(text)[:40]!r}")
        stored = dict(part.split("=", 1) for part in header.split()[1:])
        current = _library_versions()
        try:
            with warnings.catch_warnings():  # a version mismatch is reported below
                warnings.simplefilter("ignore")
                payload = pickle.loads(lzma.decompress(base64.b64decode(packed)))
        except Exception as error:
            raise ValueError(
                f"cannot load a model stored with {stored} in an environment with "
                f"{current}: {error}"
            ) from error
        if (
            payload["estimator"] is not None
            and stored.get("scikit-learn") != current["scikit-learn"]
        ):
            raise ValueError(
                f"the stored {payload['model_name']} model was fitted with scikit-learn "
                f"{stored.get('scikit-learn')} and this environment has "
                f"{current['scikit-learn']}: install that version (on Snowflake, pin it in the "
                "models' packages) or let a run fitted with this one pass its gate"
            )
        return cls(
            payload["model_name"],
            payload["algorithm"],
            tuple(payload["features"]),
            estimator=payload["estimator"],
            constant_probability=payload["constant_probability"],
            constant_class=payload["constant_class"],
        )


# --- churn -----------------------------------------------------------------------------------


def _negative_brier_score(y: np.ndarray, probability: np.ndarray) -> float:
    return -float(np.mean((probability - y) ** 2))


def _neg_brier(estimator, x: np.ndarray, y: np.ndarray) -> float:
    """Scorer used for drivers when the holdout has one class (AUC undefined)."""
    return _negative_brier_score(y, estimator.predict_proba(x)[:, 1])


def calibration_table(
    y: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict]:
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
        table.append(
            {
                "bin": int(b) + 1,
                "n": int(members.sum()),
                "mean_predicted": _round(probability[members].mean()),
                "observed_rate": _round(y[members].mean()),
            }
        )
    return table


def _undefined_churn_metrics() -> dict:
    return {
        "auc": NAN,
        "brier": NAN,
        "log_loss": NAN,
        "calibration": [],
        "top_drivers": [],
        "driver_scoring": None,
    }


def _evaluate_churn(
    model: HistGradientBoostingClassifier,
    x_hold: np.ndarray,
    y_hold: np.ndarray,
    features: list[str],
    seed: int,
    top_drivers: int,
) -> dict:
    """Holdout metrics of the model (fitted on the non-holdout rows; NaN / empty without a
    holdout)."""
    metrics = _undefined_churn_metrics()
    if len(y_hold) == 0:
        return metrics
    probability = model.predict_proba(x_hold)[:, 1]
    two_classes = len(np.unique(y_hold)) == 2
    scoring = "roc_auc" if two_classes else _neg_brier
    metrics.update(
        {
            "auc": _round(roc_auc_score(y_hold, probability)) if two_classes else NAN,
            "brier": _round(np.mean((probability - y_hold) ** 2)),
            "log_loss": _round(log_loss(y_hold, probability, labels=[0, 1])),
            "calibration": calibration_table(y_hold, probability),
            "top_drivers": _ranked_importances(
                model, x_hold, y_hold, features, scoring, seed, PERMUTATION_REPEATS
            )[:top_drivers],
            "driver_scoring": "roc_auc" if two_classes else "neg_brier_score",
        }
    )
    return metrics


def risk_tiers(
    probability: np.ndarray, high_threshold: float = 0.66, medium_threshold: float = 0.33
) -> list[str | None]:
    """'high' at or above high_threshold, 'medium' at or above medium_threshold, else 'low';
    None where the probability is NaN."""
    return [
        None
        if p != p
        else "high"
        if p >= high_threshold
        else "medium"
        if p >= medium_threshold
        else "low"
        for p in probability
    ]


def _churn_scores(
    person_ids: pd.Series, probability: np.ndarray, high_threshold: float, medium_threshold: float
) -> pd.DataFrame:
    rounded = np.round(np.asarray(probability, dtype="float64"), 6)
    return pd.DataFrame(
        {
            "person_id": person_ids.astype(str).reset_index(drop=True),
            "churn_probability": rounded,
            "churn_risk_tier": pd.Series(
                risk_tiers(rounded, high_threshold, medium_threshold), dtype=object
            ),
        },
        columns=SCORE_COLUMNS,
    )


def fit_churn_model(
    training: pd.DataFrame,
    scoring: pd.DataFrame,
    label: str = "is_churned",
    seed: int = 42,
    holdout_share: float = 0.25,
    max_iter: int = 100,
    top_drivers: int = 10,
    high_threshold: float = 0.66,
    medium_threshold: float = 0.33,
    max_training_rows: int = MAX_TRAINING_ROWS,
    evaluate: bool = True,
    fit: bool = True,
) -> tuple[StoredModel | None, dict]:
    """The churn model, without scoring: one fit on the non-holdout rows (of the sampled
    labelled rows), which the summary's holdout metrics describe and which scores.

    Inputs, settings and the summary are those of `train_churn_model` (`scoring` is only
    checked for the features and counted, n_scored). Returns (model, summary): the fitted
    `StoredModel`, or the constant base rate when the data allow no model (no non-holdout
    rows with both label classes, or no feature columns); None when fit=False and there is a
    model to fit. evaluate=False leaves the holdout metrics NaN."""
    train = _by_person(training, "training")
    score = _by_person(scoring, "scoring")
    _require_columns(train, [label], "training")
    features = model_feature_columns(train, exclude=(label,))
    _require_columns(score, features, "scoring")
    y_all = _binary_labels(train[label], label)
    labelled = ~np.isnan(y_all)
    n_available = int(labelled.sum())
    train = hash_sample(train[labelled].reset_index(drop=True), max_training_rows)
    y = _binary_labels(train[label], label).astype(np.int64)
    x = _matrix(train, features)
    hold = holdout_mask(train["person_id"], holdout_share)

    has_model = bool(features) and len(np.unique(y[~hold])) == 2
    model, evaluation = None, _undefined_churn_metrics()
    if has_model and (evaluate or fit):
        with _threads_for(max(len(train), len(score))):
            estimator = _classifier(seed, max_iter).fit(x[~hold], y[~hold])
            if evaluate:
                evaluation = _evaluate_churn(
                    estimator, x[hold], y[hold], features, seed, top_drivers
                )
        if fit:
            model = StoredModel(
                "churn", "hist_gradient_boosting", tuple(features), estimator=estimator
            )
    elif not has_model:
        model = StoredModel(
            "churn",
            "constant_base_rate",
            tuple(features),
            constant_probability=float(y.mean()) if len(y) else NAN,
        )

    summary = {
        "model": "churn",
        "algorithm": "hist_gradient_boosting" if has_model else "constant_base_rate",
        "n_train": int((~hold).sum()),
        "n_holdout": int(hold.sum()),
        "n_label_missing": int((~labelled).sum()),
        "n_labelled_available": n_available,
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
        "params": {
            "label": label,
            "seed": seed,
            "holdout_share": holdout_share,
            "max_iter": max_iter,
            **GBM_SETTINGS,
            "early_stopping": False,
            "max_training_rows": max_training_rows,
            "top_drivers": top_drivers,
            "permutation_repeats": PERMUTATION_REPEATS,
            "high_threshold": high_threshold,
            "medium_threshold": medium_threshold,
            "fitted_on": "non_holdout_rows",
        },
    }
    return model, summary


def churn_probability(model: StoredModel, scoring: pd.DataFrame) -> np.ndarray:
    """P(churn) of every row of `scoring` (which must hold the model's features) by a stored
    churn model: the fitted model's probability, or its constant base rate."""
    if model.model_name != "churn":
        raise ValueError(f"a {model.model_name} model cannot score churn")
    _require_columns(scoring, model.features, "scoring")
    if model.estimator is None:
        return np.full(len(scoring), model.constant_probability)
    if not len(scoring):
        return np.zeros(0)
    with _threads_for(len(scoring)):
        return model.estimator.predict_proba(_matrix(scoring, list(model.features)))[:, 1]


def train_churn_model(
    training: pd.DataFrame,
    scoring: pd.DataFrame,
    label: str = "is_churned",
    seed: int = 42,
    holdout_share: float = 0.25,
    max_iter: int = 100,
    top_drivers: int = 10,
    high_threshold: float = 0.66,
    medium_threshold: float = 0.33,
    max_training_rows: int = MAX_TRAINING_ROWS,
    evaluate: bool = True,
    score_rows: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Fit a churn model on the point-in-time training mart and score today's customers.

    `training` has one row per customer at the past cutoff: person_id, the 0/1 (or boolean)
    `label` (1 = no purchase in the following N days; rows with a null label are skipped) and
    the feature columns (`model_feature_columns`). `scoring` has person_id and the same
    feature columns computed as of today.

    A HistGradientBoostingClassifier is fitted on the non-holdout rows (`holdout_mask`) and
    evaluated on the holdout: ROC AUC (NaN with one class), Brier score, log loss, base rates,
    a 10-bin calibration table and the top drivers by permutation importance (roc_auc; the
    negative Brier score when the holdout has one class). That same model scores `scoring`, so
    the reported metrics describe exactly the model that scores (one fit; until 2026-12 a
    second fit on every row scored, which cost a fit and left the metrics describing its
    twin). Above max_training_rows labelled rows, the fit uses a deterministic sample of that
    many persons (`hash_sample`).

    The evaluation and the scoring are separate steps (`fit_churn_model`, then
    `churn_probability`): evaluate=False leaves the holdout metrics NaN, score_rows=False
    leaves the probabilities NaN; each part is the same as with both.

    Returns (scores, summary): scores has person_id, churn_probability (6 decimals) and
    churn_risk_tier, sorted by person_id. Without non-holdout rows of both label classes or
    without feature columns there is no model: everyone gets the training base rate (NaN, and tier
    None, without training rows) and the summary's algorithm is "constant_base_rate".
    """
    model, summary = fit_churn_model(
        training,
        scoring,
        label=label,
        seed=seed,
        holdout_share=holdout_share,
        max_iter=max_iter,
        top_drivers=top_drivers,
        high_threshold=high_threshold,
        medium_threshold=medium_threshold,
        max_training_rows=max_training_rows,
        evaluate=evaluate,
        fit=score_rows,
    )
    score = _by_person(scoring, "scoring")
    probability = np.full(len(score), NAN) if model is None else churn_probability(model, score)
    return _churn_scores(score["person_id"], probability, high_threshold, medium_threshold), summary


# --- segment classifier ----------------------------------------------------------------------


def _majority(labels: np.ndarray) -> str | None:
    """Most frequent label (ties: the smallest label), None when there is none."""
    if len(labels) == 0:
        return None
    values, counts = np.unique(labels.astype(str), return_counts=True)
    return str(values[np.lexsort((values, -counts))][0])


def _undefined_segment_metrics() -> dict:
    return {
        "accuracy": NAN,
        "f1_macro": NAN,
        "f1_weighted": NAN,
        "f1_per_class": {},
        "baseline_accuracy": NAN,
    }


def _segment_metrics(
    model: HistGradientBoostingClassifier | None,
    y_fit: np.ndarray,
    x_hold: np.ndarray,
    y_hold: np.ndarray,
) -> dict:
    """Holdout accuracy and F1 of the model (fitted on the non-holdout rows y_fit; None when
    the data allow none), and the accuracy of always predicting the non-holdout majority
    class. F1 covers the labels present in the holdout truth or predictions. NaN when the fit
    or the holdout cannot support them."""
    metrics = _undefined_segment_metrics()
    if len(y_hold) == 0 or len(y_fit) == 0:
        return metrics
    metrics["baseline_accuracy"] = _round(np.mean(y_hold == _majority(y_fit)))
    if model is None:
        return metrics
    predicted = model.predict(x_hold)
    labels = sorted(set(y_hold) | set(predicted))
    per_class = f1_score(y_hold, predicted, labels=labels, average=None, zero_division=0)
    metrics.update(
        {
            "accuracy": _round(accuracy_score(y_hold, predicted)),
            "f1_macro": _round(f1_score(y_hold, predicted, average="macro", zero_division=0)),
            "f1_weighted": _round(f1_score(y_hold, predicted, average="weighted", zero_division=0)),
            "f1_per_class": {str(k): _round(v) for k, v in zip(labels, per_class)},
        }
    )
    return metrics


def fit_segment_classifier(
    training: pd.DataFrame,
    target: str,
    seed: int = 42,
    holdout_share: float = 0.25,
    max_iter: int = 75,
    max_training_rows: int = MAX_TRAINING_ROWS,
    evaluate: bool = True,
    fit: bool = True,
) -> tuple[StoredModel | None, dict]:
    """The segment classifier, without predicting: one fit on the non-holdout rows (of the
    sampled labelled rows), which the summary's holdout metrics describe and which predicts.

    Inputs, settings and the summary are those of `train_segment_classifier`. Returns
    (model, summary): the fitted `StoredModel`, or the majority class of the labelled rows with
    its share when the data allow no model (fewer than 2 classes among the non-holdout rows, or
    no features); None when fit=False and there is a model to fit. evaluate=False leaves the
    holdout metrics NaN."""
    frame = _by_person(training, "training")
    _require_columns(frame, [target], "training")
    features = model_feature_columns(frame, exclude=(target,))
    actual = _label_strings(frame[target])
    labelled = _present(actual)
    sampled = set(
        hash_sample(frame[labelled].reset_index(drop=True), max_training_rows)["person_id"]
    )
    known = labelled & frame["person_id"].isin(sampled).to_numpy()
    x, y = _matrix(frame, features), actual.astype(str)  # y is only read where known
    hold = holdout_mask(frame["person_id"], holdout_share)
    fit_rows, test = known & ~hold, known & hold
    has_model = bool(features) and len(set(y[fit_rows])) >= 2
    fitted = fit_rows if has_model else known  # the rows the model (or the majority) is of
    classes = sorted(str(c) for c in set(y[fitted]))
    model, metrics = None, _undefined_segment_metrics()
    if has_model and (evaluate or fit):
        with _threads_for(len(frame)):
            estimator = _classifier(seed, max_iter).fit(x[fit_rows], y[fit_rows])
            if evaluate:
                metrics = _segment_metrics(estimator, y[fit_rows], x[test], y[test])
        if fit:
            model = StoredModel(
                "segment_classifier", "hist_gradient_boosting", tuple(features), estimator=estimator
            )
    elif not has_model:
        if evaluate:
            metrics = _segment_metrics(None, y[fit_rows], x[test], y[test])
        majority = _majority(y[known])
        share = np.mean(y[known] == majority) if known.any() else NAN
        model = StoredModel(
            "segment_classifier",
            "majority_class",
            tuple(features),
            constant_probability=float(share),
            constant_class=majority,
        )

    counts = pd.Series(y[fitted]).value_counts()
    summary = {
        "model": "segment_classifier",
        "target": target,
        "algorithm": "hist_gradient_boosting" if has_model else "majority_class",
        "n_train": int(fit_rows.sum()),
        "n_holdout": int(test.sum()),
        "n_target_missing": int((~labelled).sum()),
        "n_labelled_available": int(labelled.sum()),
        "n_predicted": int(len(frame)),
        "features": features,
        "classes": classes,
        "class_counts": {c: int(counts[c]) for c in classes},
        **metrics,
        "params": {
            "target": target,
            "seed": seed,
            "holdout_share": holdout_share,
            "max_iter": max_iter,
            **GBM_SETTINGS,
            "early_stopping": False,
            "max_training_rows": max_training_rows,
            "fitted_on": "non_holdout_rows",
        },
    }
    return model, summary


def _segment_predictions(
    frame: pd.DataFrame,
    target: str,
    predicted: np.ndarray,
    probability: np.ndarray,
    holdout_share: float,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": frame["person_id"],
            "predicted_segment": pd.Series(predicted, dtype=object),
            "predicted_probability": np.round(np.asarray(probability, dtype="float64"), 6),
            "actual_segment": pd.Series(_label_strings(frame[target]), dtype=object),
            "is_holdout": holdout_mask(frame["person_id"], holdout_share).astype(bool),
        },
        columns=SEGMENT_COLUMNS,
    )


def predict_segments(
    training: pd.DataFrame, target: str, model: StoredModel, holdout_share: float = 0.25
) -> pd.DataFrame:
    """Every row of `training` (person_id, the model's features, `target`) predicted by a
    stored segment classifier: predicted_segment (the most probable class, or the majority
    class of a model-less run), predicted_probability (6 decimals), actual_segment (`target` as
    text) and is_holdout (`holdout_mask`), sorted by person_id (SEGMENT_COLUMNS)."""
    if model.model_name != "segment_classifier":
        raise ValueError(f"a {model.model_name} model cannot predict segments")
    frame = _by_person(training, "training")
    _require_columns(frame, [target, *model.features], "training")
    if model.estimator is None:
        predicted = np.array([model.constant_class] * len(frame), dtype=object)
        probability = np.full(len(frame), model.constant_probability)
    elif not len(frame):
        predicted, probability = np.full(0, None, dtype=object), np.zeros(0)
    else:
        with _threads_for(len(frame)):
            proba = model.estimator.predict_proba(_matrix(frame, list(model.features)))
        predicted = model.estimator.classes_[proba.argmax(axis=1)].astype(object)
        probability = proba.max(axis=1)
    return _segment_predictions(frame, target, predicted, probability, holdout_share)


def train_segment_classifier(
    training: pd.DataFrame,
    target: str,
    seed: int = 42,
    holdout_share: float = 0.25,
    max_iter: int = 75,
    max_training_rows: int = MAX_TRAINING_ROWS,
    evaluate: bool = True,
    predict: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Predict each person's segment (`target`: e.g. cluster_id or primary rule segment, text
    or integer) from their early-behaviour features (the other numeric columns).

    A multiclass HistGradientBoostingClassifier is fitted on the non-holdout labelled rows and
    evaluated on the holdout: accuracy, macro / weighted / per-class F1 and the majority-class
    baseline accuracy. That same model predicts every row of `training` (the same persons'
    early features); is_holdout marks the rows it never saw, on which the metrics are
    computed. Rows with a null target are not fitted on but still get a prediction
    (actual_segment null). Above max_training_rows labelled rows, the fit uses a deterministic
    sample of that many persons (`hash_sample`); every row is still predicted.

    As in train_churn_model (`fit_segment_classifier`, then `predict_segments`),
    evaluate=False leaves the metrics NaN and predict=False the predictions
    (predicted_segment null, probability NaN); each part is the same as with both.

    Returns (predictions, summary): person_id, predicted_segment (text), predicted_probability
    (highest class probability, 6 decimals), actual_segment (text) and is_holdout, sorted by
    person_id. With fewer than 2 classes among the non-holdout rows or no features there is no
    model:
    everyone gets the majority class with its share (1.0 for a single class), metrics NaN.
    """
    model, summary = fit_segment_classifier(
        training,
        target,
        seed=seed,
        holdout_share=holdout_share,
        max_iter=max_iter,
        max_training_rows=max_training_rows,
        evaluate=evaluate,
        fit=predict,
    )
    if model is not None:
        return predict_segments(training, target, model, holdout_share), summary
    frame = _by_person(training, "training")
    return _segment_predictions(
        frame,
        target,
        np.full(len(frame), None, dtype=object),
        np.full(len(frame), NAN),
        holdout_share,
    ), summary


# --- permutation importance table ------------------------------------------------------------


def hash_sample(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """At most max_rows rows of a person-sorted frame: those with the smallest salted sha256 of
    person_id (independent of the holdout hash), returned in person_id order. Deterministic,
    and a person's membership does not depend on row order."""
    if len(frame) <= max_rows:
        return frame
    keys = _hash_ints(frame["person_id"], salt="sample:")
    chosen = np.sort(np.argsort(keys, kind="stable")[:max_rows])
    return frame.iloc[chosen].reset_index(drop=True)


def permutation_importance_table(
    frame: pd.DataFrame,
    target: str,
    task_name: str,
    seed: int = 42,
    holdout_share: float = 0.25,
    n_repeats: int = 5,
    max_rows: int = 20_000,
    exclude: Iterable[str] = (),
) -> pd.DataFrame:
    """How much each feature matters for predicting `target`, as one row per feature.

    Rows with a null target are dropped, then at most max_rows persons are kept (`hash_sample`,
    not random). A HistGradientBoostingClassifier (IMPORTANCE_MAX_ITER rounds) is fitted on the
    non-holdout rows; on the holdout, each feature is shuffled n_repeats times (fixed seed) and
    the drop of the score is its importance. Scoring: roc_auc for a binary target, f1_macro
    (every class weighs the same, so small segments count) for a multiclass one.

    Returns task (= task_name), feature, importance_mean, importance_std, importance_rank
    (1 = most important; ties by feature name; zero and negative importances are kept and
    ranked), baseline_score (the unshuffled holdout score) and scoring. When no model can be
    evaluated (a single class, an empty side of the split, a one-class binary holdout) every
    importance is 0 and baseline_score is NaN.
    """
    data = _by_person(frame, "frame")
    _require_columns(data, [target], "frame")
    features = model_feature_columns(data, exclude=(target, *exclude))
    known = _present(_label_strings(data[target]))
    data = hash_sample(data[known].reset_index(drop=True), max_rows)
    labels = _label_strings(data[target]).astype(str)
    classes = sorted(set(labels))
    scoring = "roc_auc" if len(classes) <= 2 else "f1_macro"
    # binary: 1 = the larger label (e.g. "1", "True"), so roc_auc has a positive class
    y = (labels == classes[-1]).astype(np.int64) if scoring == "roc_auc" else labels
    x = _matrix(data, features)
    hold = holdout_mask(data["person_id"], holdout_share)

    usable = (
        bool(features)
        and len(set(y[~hold])) >= 2
        and hold.any()
        and (scoring != "roc_auc" or len(set(y[hold])) == 2)
    )
    if usable:
        with _threads_for(len(data)):
            model = _classifier(seed, IMPORTANCE_MAX_ITER).fit(x[~hold], y[~hold])
            baseline = _round(get_scorer(scoring)(model, x[hold], y[hold]))
            rows = _ranked_importances(model, x[hold], y[hold], features, scoring, seed, n_repeats)
    else:
        baseline = NAN
        rows = [{"feature": f, "importance_mean": 0.0, "importance_std": 0.0} for f in features]

    table = pd.DataFrame(rows, columns=["feature", "importance_mean", "importance_std"])
    table = table.sort_values(
        ["importance_mean", "feature"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    table.insert(0, "task", task_name)
    table["importance_rank"] = np.arange(1, len(table) + 1, dtype=np.int64)
    table["baseline_score"] = baseline
    table["scoring"] = scoring
    return table.astype(
        {
            "task": object,
            "feature": object,
            "importance_mean": "float64",
            "importance_std": "float64",
            "baseline_score": "float64",
            "scoring": object,
        }
    )[IMPORTANCE_COLUMNS]


# --- what the dbt Python models call ---------------------------------------------------------

SNAPSHOT_COLUMNS = ("snapshot_kind", "customer_id", "cutoff_at")
# customer_features columns that describe buying itself: not inputs when the target is buying.
VALUE_FEATURES = (
    "log_order_count",
    "log_monetary_total",
    "log_order_value",
    "log_recency_days",
    "conversion_rate",
)
RUN_COLUMNS = [
    "run_id",
    "run_number",
    "model_name",
    "algorithm",
    "as_of_date",
    "person_count",
    "n_train",
    "n_holdout",
    "auc",
    "brier",
    "log_loss",
    "base_rate_holdout",
    "accuracy",
    "macro_f1",
    "weighted_f1",
    "baseline_accuracy",
    "calibration_json",
    "top_drivers_json",
    "metrics_json",
    "fit_seconds",
    "model_blob",
    # why this run fitted, the population it was fitted on (drift reference) and the clustering
    # run whose names the classifier learnt
    "refit_reason",
    "reference_bins_json",
    "cluster_run_id",
    # the latest build's refit check (updated on the latest run's rows by a build that keeps it)
    "checked_as_of_date",
    "check_decision",
    "check_reason",
    "check_model_age_days",
    "check_drift_major_share",
]


def _split_snapshots(snapshots: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training, scoring) rows of int_churn_snapshots_built, without the snapshot columns
    (and without the label on the scoring side)."""
    drop = [c for c in SNAPSHOT_COLUMNS if c in snapshots.columns]
    training = snapshots[snapshots["snapshot_kind"] == "training"].drop(columns=drop)
    scoring = snapshots[snapshots["snapshot_kind"] == "scoring"]
    return training, scoring.drop(columns=drop + ["is_churned"])


def scoring_frame(snapshots: pd.DataFrame) -> pd.DataFrame:
    """The 'scoring' snapshot of int_churn_snapshots_built without the snapshot columns and the
    label: today's persons as the churn model reads them (its drift is checked on this)."""
    return _split_snapshots(snapshots)[1]


def churn_model_from_snapshots(
    snapshots: pd.DataFrame,
    seed: int = 42,
    holdout_share: float = 0.25,
    high_threshold: float = 0.66,
    medium_threshold: float = 0.33,
    max_training_rows: int = MAX_TRAINING_ROWS,
) -> tuple[StoredModel, dict]:
    """The churn model on int_churn_snapshots_built (what supervised_model_runs logs): the
    holdout evaluation and the model fitted on the whole 'training' snapshot (features as of
    as_of - N, labels from the N days after), as in `fit_churn_model`."""
    training, scoring = _split_snapshots(snapshots)
    return fit_churn_model(
        training,
        scoring,
        seed=seed,
        holdout_share=holdout_share,
        high_threshold=high_threshold,
        medium_threshold=medium_threshold,
        max_training_rows=max_training_rows,
    )


def score_churn_snapshots(
    snapshots: pd.DataFrame,
    model: StoredModel,
    high_threshold: float = 0.66,
    medium_threshold: float = 0.33,
) -> pd.DataFrame:
    """The 'scoring' snapshot of int_churn_snapshots_built (features as of as_of) scored by a
    stored churn model: person_id, customer_id, churn_probability (6 decimals) and
    churn_risk_tier, sorted by person_id (what customer_churn_scores shows)."""
    scoring = snapshots[snapshots["snapshot_kind"] == "scoring"]
    score = _by_person(_split_snapshots(snapshots)[1], "scoring")
    scores = _churn_scores(
        score["person_id"], churn_probability(model, score), high_threshold, medium_threshold
    )
    customers = scoring[["person_id", "customer_id"]].astype({"person_id": str})
    scores = scores.merge(customers, on="person_id", how="left")
    return scores[["person_id", "customer_id", "churn_probability", "churn_risk_tier"]]


def segment_training_frame(
    early: pd.DataFrame, segments: pd.DataFrame, target: str
) -> pd.DataFrame:
    """Early-behaviour features with the segment each person ended up in (`target` column of
    `segments`, e.g. cluster_name or primary_rule_segment), renamed to `segment`."""
    labels = segments[["person_id", target]].rename(columns={target: "segment"})
    return early.merge(labels, on="person_id", how="left")


def importance_tables(
    features: pd.DataFrame,
    clusters: pd.DataFrame,
    seed: int = 42,
    holdout_share: float = 0.25,
    max_rows: int = 8_000,
    n_repeats: int = 3,
) -> pd.DataFrame:
    """Permutation importance for two questions analysts ask: which signals tell who buys
    ('conversion': has ordered, from everything but the buying features themselves) and which
    define the segments ('cluster_membership': cluster_name from the clustering features).
    Each shuffle re-scores the holdout (a quarter of at most max_rows persons), so the cost is
    features x n_repeats predictions: bounded at any data size."""
    frame = features.copy()
    frame["has_ordered"] = (frame["log_order_count"] > 0).astype(np.int64)
    conversion = permutation_importance_table(
        frame.drop(columns=[c for c in VALUE_FEATURES if c in frame.columns]),
        "has_ordered",
        "conversion",
        seed=seed,
        holdout_share=holdout_share,
        max_rows=max_rows,
        n_repeats=n_repeats,
    )
    labelled = features.merge(clusters[["person_id", "cluster_name"]], on="person_id", how="inner")
    membership = permutation_importance_table(
        labelled,
        "cluster_name",
        "cluster_membership",
        seed=seed,
        holdout_share=holdout_share,
        max_rows=max_rows,
        n_repeats=n_repeats,
    )
    return pd.concat([conversion, membership], ignore_index=True)


def stored_importance(stored: pd.DataFrame | None, run_id: str | None) -> pd.DataFrame | None:
    """feature_importance as stored, when it was computed for the clustering run in force
    (`run_id`); None when it must be recomputed (first build, another run, or a table written
    before it recorded its run)."""
    if stored is None or stored.empty or run_id is None or "model_run_id" not in stored.columns:
        return None
    runs = set(stored["model_run_id"].astype(str))
    if runs != {run_id}:
        return None
    return stored.reset_index(drop=True).astype({"model_run_id": "string"})


def _json(value) -> str:
    """JSON with NaN written as null (NaN is not valid JSON)."""

    def clean(v):
        if isinstance(v, float) and v != v:
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, (np.floating,)):
            return clean(float(v))
        return v

    return json.dumps(clean(value), sort_keys=True)


def run_rows(
    summaries: list[dict],
    previous_runs: pd.DataFrame | None,
    as_of_date,
    fit_seconds: dict[str, float],
    models: dict[str, str] | None = None,
) -> pd.DataFrame:
    """New rows of supervised_model_runs, one per model summary: the holdout metrics as
    columns, calibration / drivers / the full summary as JSON, and the model that scores
    (`models`: model name -> `StoredModel.to_blob` text; null where absent). Run numbers
    continue the previous runs; the run id is a hash of the summary and the previous run
    number (not of the model). A build that repeats the latest run (the same models, metrics
    and as_of: a re-run of an interrupted or unchanged build; the fits are deterministic)
    returns that run's rows unchanged, which the model replaces by run_id (delete+insert): the
    log keeps one run per distinct result. A repeated run logged before runs stored their
    models gains this build's (the same fit). `previous_runs` needs the models of its latest
    run only (`read_run_log`)."""
    models = models or {}
    start = (
        1
        if previous_runs is None or previous_runs.empty
        else int(previous_runs["run_number"].max()) + 1
    )
    rows = []
    for summary in summaries:
        name = summary["model"]
        metrics = _json({k: v for k, v in summary.items() if k not in ("calibration",)})
        rows.append(
            {
                "run_id": hashlib.sha256(f"{start}|{metrics}".encode()).hexdigest()[:16],
                "run_number": start,
                "model_name": name,
                "algorithm": summary["algorithm"],
                "as_of_date": None
                if as_of_date is None or pd.isna(as_of_date)
                else pd.Timestamp(as_of_date).date(),
                "person_count": int(summary["n_train"] + summary["n_holdout"]),
                "n_train": int(summary["n_train"]),
                "n_holdout": int(summary["n_holdout"]),
                "auc": summary.get("auc", NAN),
                "brier": summary.get("brier", NAN),
                "log_loss": summary.get("log_loss", NAN),
                "base_rate_holdout": summary.get("base_rate_holdout", NAN),
                "accuracy": summary.get("accuracy", NAN),
                "macro_f1": summary.get("f1_macro", NAN),
                "weighted_f1": summary.get("f1_weighted", NAN),
                "baseline_accuracy": summary.get("baseline_accuracy", NAN),
                "calibration_json": _json(summary.get("calibration", [])),
                "top_drivers_json": _json(summary.get("top_drivers", [])),
                "metrics_json": metrics,
                "fit_seconds": round(float(fit_seconds.get(name, NAN)), 3),
                "model_blob": models.get(name),
            }
        )
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    if start > 1:
        latest = previous_runs[previous_runs["run_number"] == start - 1]
        same_results = sorted(zip(latest["model_name"], latest["metrics_json"])) == sorted(
            zip(frame["model_name"], frame["metrics_json"])
        )
        same_as_of = {
            None if pd.isna(v) else pd.Timestamp(v).date() for v in latest["as_of_date"]
        } == set(frame["as_of_date"])
        if same_results and same_as_of:
            frame = latest.reindex(columns=RUN_COLUMNS).reset_index(drop=True)
            stored = frame["model_blob"].astype(object)
            frame["model_blob"] = stored.where(
                stored.notna(), frame["model_name"].astype(str).map(models)
            )
            frame["as_of_date"] = [
                None if pd.isna(v) else pd.Timestamp(v).date() for v in frame["as_of_date"]
            ]
            frame["run_number"] = frame["run_number"].astype("int64")
    for column in (
        "auc",
        "brier",
        "log_loss",
        "base_rate_holdout",
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "baseline_accuracy",
        "fit_seconds",
    ):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in (
        "run_id",
        "model_name",
        "algorithm",
        "calibration_json",
        "top_drivers_json",
        "metrics_json",
        "model_blob",
    ):
        frame[column] = frame[column].astype("string")
    return frame


CHECK_COLUMNS = [
    "checked_as_of_date",
    "check_decision",
    "check_reason",
    "check_model_age_days",
    "check_drift_major_share",
]


def typed_log_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """supervised_model_runs rows with the refit columns typed (also when null)."""
    frame = frame.reindex(columns=RUN_COLUMNS)
    for column in (
        "refit_reason",
        "reference_bins_json",
        "cluster_run_id",
        "check_decision",
        "check_reason",
    ):
        frame[column] = frame[column].astype("string")
    frame["check_model_age_days"] = pd.to_numeric(
        frame["check_model_age_days"], errors="coerce"
    ).astype("Int64")
    frame["check_drift_major_share"] = pd.to_numeric(
        frame["check_drift_major_share"], errors="coerce"
    ).astype("float64")
    for column in ("as_of_date", "checked_as_of_date"):
        frame[column] = [
            None if v is None or pd.isna(v) else pd.Timestamp(v).date() for v in frame[column]
        ]
    return frame


def supervised_refit_check(
    latest: pd.DataFrame | None,
    inputs: dict[str, pd.DataFrame],
    cluster_run_id: str | None,
    as_of_date,
    policy,
    settings,
) -> dict:
    """The refit check of one build for the supervised models, which refit together: due
    when there is no run, a var forces it, the latest run is older than the policy's max age,
    the clustering run whose names the classifier learnt is no longer the one in force
    (clusters_refit), or the inputs of a model drifted (a major PSI on at least the policy's
    share of its features, against the bins stored with its run). `latest`: the latest run's
    rows; `inputs`: today's scoring frame of each model. A re-run of the build that fitted
    the latest run returns that run's check with is_rerun (its rows stay as they are)."""
    from python_utils.monitoring import (
        drift_table,
        major_share,
        model_age_days,
        refit_reason,
        refitted_by_this_build,
    )

    check = {
        "checked_as_of_date": as_of_date,
        "check_model_age_days": None,
        "check_drift_major_share": None,
    }
    if latest is None or latest.empty or latest["model_blob"].isna().any():
        return {**check, "check_decision": "refit", "check_reason": "no_model"}
    first = latest.iloc[0]
    if (
        not policy.force
        and policy.rerun_keeps_fit
        and "checked_as_of_date" in latest.columns
        and refitted_by_this_build(first["checked_as_of_date"], first["check_decision"], as_of_date)
    ):
        # a re-run of the build that fitted the latest run: keep its rows and decision
        return {**{column: first[column] for column in CHECK_COLUMNS}, "is_rerun": True}
    age = model_age_days(latest["as_of_date"].iloc[0], as_of_date)
    shares = []
    for name, text in zip(latest["model_name"], latest["reference_bins_json"]):
        if text is not None and not pd.isna(text) and name in inputs:
            share = major_share(drift_table(inputs[name], json.loads(text), settings))
            if share is not None:
                shares.append(share)
    drift = max(shares) if shares else None
    reason = refit_reason(policy, True, False, age, drift)
    stored = latest.loc[latest["model_name"] == "segment_classifier", "cluster_run_id"]
    if (
        reason is None
        and cluster_run_id is not None
        and (stored.empty or stored.isna().all() or str(stored.iloc[0]) != cluster_run_id)
    ):
        reason = "clusters_refit"
    return {
        **check,
        "check_model_age_days": age,
        "check_drift_major_share": drift,
        "check_decision": "kept" if reason is None else "refit",
        "check_reason": reason or "not_due",
    }


def refit_rows(
    rows: pd.DataFrame, check: dict, bins: dict[str, str], cluster_run_id: str | None
) -> pd.DataFrame:
    """The rows of a refitting build (`run_rows`) with the refit columns: the reason (kept
    from a repeated run's rows), the reference bins of each model, the clustering run the
    classifier learnt and this build's check."""
    rows = typed_log_rows(rows)
    names = rows["model_name"].astype(str)
    rows["refit_reason"] = rows["refit_reason"].fillna(check["check_reason"])
    rows["reference_bins_json"] = rows["reference_bins_json"].fillna(
        names.map(bins).astype("string")
    )
    rows["cluster_run_id"] = pd.Series(
        [cluster_run_id if n == "segment_classifier" else None for n in names],
        dtype="string",
        index=rows.index,
    )
    for column, value in check.items():
        rows[column] = [value] * len(rows)
    return typed_log_rows(rows)


def kept_rows(latest: pd.DataFrame, check: dict) -> pd.DataFrame:
    """The latest run's rows with this build's check: what a build that keeps the models logs."""
    frame = latest.reindex(columns=RUN_COLUMNS).reset_index(drop=True).copy()
    for column, value in check.items():
        frame[column] = [value] * len(frame)
    frame["run_number"] = frame["run_number"].astype("int64")
    return typed_log_rows(frame)


def read_run_log(dbt, session) -> pd.DataFrame | None:
    """supervised_model_runs so far (None on a first run) as `run_rows` needs it: every run
    without its stored models except the latest run's. The models make up most of the log and
    grow it every run, so the older ones are never read back."""
    from python_utils.engine import (
        own_relation,
        relation_columns,
        relation_to_pandas,
        select_columns,
        text_rows_where_in,
    )

    relation = own_relation(dbt, session)
    if relation is None:
        return None
    columns = relation_columns(relation)
    log = relation_to_pandas(
        select_columns(
            relation, [c for c in columns if c not in ("model_blob", "reference_bins_json")]
        )
    )
    if "model_blob" in columns and len(log):
        latest = log.loc[log["run_number"] == log["run_number"].max(), "run_id"]
        stored = [c for c in ("model_blob", "reference_bins_json") if c in columns]
        blobs = relation_to_pandas(
            text_rows_where_in(relation, "run_id", latest.tolist(), ["run_id", *stored])
        )
        log = log.merge(blobs, on="run_id", how="left")
    return log


def scoring_candidates(judged: pd.DataFrame, model_name: str) -> list[str]:
    """The run ids whose stored model may score `model_name`, in order of preference: the run
    in force (supervised_model_runs_judged.is_in_force), then the latest run (for a run in
    force that was logged before runs stored their models)."""
    runs = judged[judged["model_name"].astype(str) == model_name]
    if runs.empty:
        raise ValueError(
            f"supervised_model_runs has no {model_name} run: build it before the scoring models"
        )
    in_force = runs[runs["is_in_force"].fillna(False).astype(bool)]
    if len(in_force) != 1:
        raise ValueError(f"{len(in_force)} {model_name} runs are in force, not one")
    latest = runs.sort_values("run_number", kind="stable").iloc[-1]
    return list(dict.fromkeys([str(in_force["run_id"].iloc[0]), str(latest["run_id"])]))


def choose_scoring_run(candidates: list[str], stored: pd.DataFrame) -> tuple[str, str]:
    """(run_id, model_blob) of the first candidate (`scoring_candidates`) whose model is stored
    (`stored`: run_id, model_blob)."""
    blobs = {
        str(r): b
        for r, b in zip(stored["run_id"], stored["model_blob"])
        if b is not None and not pd.isna(b)
    }
    for run_id in candidates:
        if run_id in blobs:
            return run_id, blobs[run_id]
    raise ValueError(
        f"no stored model in runs {candidates} of supervised_model_runs: build "
        "supervised_model_runs again"
    )


def model_in_force(judged_relation, runs_relation, model_name: str) -> tuple[StoredModel, str]:
    """The stored model of `model_name` that scores today, and the run that stored it: the run
    in force of supervised_model_runs_judged (the latest that passed its gate, or the latest
    while none has), or the latest run when the run in force was logged before runs stored
    their models. Only the candidates' models are read from supervised_model_runs."""
    from python_utils.engine import relation_to_pandas, select_columns, text_rows_where_in

    judged = relation_to_pandas(
        select_columns(judged_relation, ["run_id", "run_number", "model_name", "is_in_force"])
    )
    candidates = scoring_candidates(judged, model_name)
    stored = relation_to_pandas(
        text_rows_where_in(runs_relation, "run_id", candidates, ["run_id", "model_blob"])
    )
    run_id, blob = choose_scoring_run(candidates, stored)
    try:
        model = StoredModel.from_blob(blob)
    except ValueError as error:
        raise ValueError(f"{model_name} run {run_id} of supervised_model_runs: {error}") from error
    if model.model_name != model_name:
        raise ValueError(f"run {run_id} stores a {model.model_name} model, not {model_name}")
    return model, run_id
