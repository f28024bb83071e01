"""Unit tests of python_utils.supervised on small synthetic data with planted signals."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from python_utils.supervised import (
    IMPORTANCE_COLUMNS,
    MODEL_FORMAT,
    SCORE_COLUMNS,
    SEGMENT_COLUMNS,
    StoredModel,
    choose_scoring_run,
    churn_probability,
    fit_churn_model,
    fit_segment_classifier,
    hash_sample,
    holdout_mask,
    model_feature_columns,
    permutation_importance_table,
    predict_segments,
    risk_tiers,
    run_rows,
    scoring_candidates,
    train_churn_model,
    train_segment_classifier,
)

FEATURES = ["noise_a", "noise_b", "noise_c", "signal"]


def churn_frame(
    n: int = 1600, seed: int = 5, strength: float = 3.0, prefix: str = "p"
) -> pd.DataFrame:
    """person_id, four standard-normal features and is_churned ~ logistic(strength * signal);
    strength 0 makes the label independent noise."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, len(FEATURES)))
    frame = pd.DataFrame(values, columns=FEATURES)
    probability = 1.0 / (1.0 + np.exp(-(strength * frame["signal"] - 0.4)))
    frame["is_churned"] = (rng.random(n) < probability).astype(int)
    frame.insert(0, "person_id", [f"{prefix}{i:05d}" for i in range(n)])
    return frame


def segment_frame(n: int = 900, seed: int = 8) -> pd.DataFrame:
    """Three segments separated on `signal` (and `second`), plus two noise columns."""
    rng = np.random.default_rng(seed)
    segment = rng.integers(0, 3, size=n)
    frame = pd.DataFrame(
        {
            "person_id": [f"s{i:05d}" for i in range(n)],
            "signal": segment * 3.0 + rng.normal(0, 0.5, n),
            "second": (segment == 1) * 1.5 + rng.normal(0, 1.0, n),
            "noise_a": rng.normal(size=n),
            "noise_b": rng.normal(size=n),
            "segment": np.array(["loyal", "lapsing", "new"])[segment],
        }
    )
    return frame


@cache
def planted_churn() -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    training = churn_frame()
    scoring = churn_frame(n=300, seed=6, prefix="q").drop(columns="is_churned")
    scores, summary = train_churn_model(training, scoring, max_iter=100)
    return scores, summary, scoring


def as_json(summary: dict) -> str:
    return json.dumps(summary, sort_keys=True)  # NaN-safe equality


def test_model_feature_columns_skip_ids_labels_flags_and_text_and_are_sorted():
    frame = pd.DataFrame(
        {
            "person_id": [1],
            "zeta": [1.0],
            "alpha": [2],
            "is_active": [True],
            "customer_id": [3],
            "churned": [1],
            "label": ["x"],
        }
    )
    assert model_feature_columns(frame, exclude=("churned",)) == ["alpha", "zeta"]


def test_holdout_split_is_stable_and_close_to_the_share():
    ids = pd.Series([f"p{i:05d}" for i in range(10_000)])
    mask = holdout_mask(ids, 0.25)
    assert mask.dtype == bool and 0.23 < mask.mean() < 0.27
    reordered = ids.iloc[::-1].iloc[:4000]  # other order, other population: same sides
    assert np.array_equal(holdout_mask(reordered, 0.25), mask[reordered.index])
    assert holdout_mask(ids, 0.1).sum() < mask.sum()
    assert not (holdout_mask(ids, 0.1) & ~mask).any()  # a smaller share is a subset
    assert not holdout_mask(ids, 0.0).any() and holdout_mask(ids, 1.0).all()
    with pytest.raises(ValueError):
        holdout_mask(ids, 1.5)


def test_churn_model_finds_the_planted_signal_and_is_calibrated():
    scores, summary, scoring = planted_churn()
    assert summary["algorithm"] == "hist_gradient_boosting" and summary["model"] == "churn"
    assert summary["auc"] > 0.8
    assert summary["features"] == FEATURES
    assert summary["n_train"] + summary["n_holdout"] == 1600 and summary["n_scored"] == 300
    assert 0.15 < summary["n_holdout"] / 1600 < 0.35
    calibration = summary["calibration"]
    assert [row["bin"] for row in calibration] == list(range(1, 11))
    assert sum(row["n"] for row in calibration) == summary["n_holdout"]
    assert max(r["n"] for r in calibration) - min(r["n"] for r in calibration) <= 1  # quantiles
    predicted = [row["mean_predicted"] for row in calibration]
    assert predicted == sorted(predicted)
    assert calibration[-1]["observed_rate"] > calibration[0]["observed_rate"] + 0.5
    assert summary["top_drivers"][0]["feature"] == "signal"
    assert summary["top_drivers"][0]["importance_mean"] > 0.1
    assert 0.0 < summary["brier"] < 0.2 and summary["log_loss"] > 0
    assert 0.2 < summary["base_rate_train"] < 0.8


def test_churn_scores_cover_the_scoring_frame_and_follow_its_features():
    scores, _, scoring = planted_churn()
    assert list(scores.columns) == SCORE_COLUMNS
    assert scores["person_id"].tolist() == sorted(scoring["person_id"])
    assert scores["churn_probability"].between(0, 1).all()
    assert set(scores["churn_risk_tier"]) <= {"high", "medium", "low"}
    merged = scores.merge(scoring, on="person_id")
    assert merged["churn_probability"].corr(merged["signal"], method="spearman") > 0.8
    expected = risk_tiers(scores["churn_probability"].to_numpy())
    assert scores["churn_risk_tier"].tolist() == expected


def test_churn_model_on_noise_has_no_skill():
    _, summary = train_churn_model(
        churn_frame(strength=0.0),
        churn_frame(n=10, prefix="q").drop(columns="is_churned"),
        max_iter=100,
    )
    assert summary["auc"] < 0.65


def test_churn_model_ignores_row_and_column_order():
    _, summary, scoring = planted_churn()
    training = churn_frame()
    shuffled = training.sample(frac=1.0, random_state=3)[
        ["signal", "is_churned", "noise_c", "person_id", "noise_a", "noise_b"]
    ]
    scores, again = train_churn_model(
        shuffled, scoring.sample(frac=1.0, random_state=4), max_iter=100
    )
    pd.testing.assert_frame_equal(scores, planted_churn()[0])
    assert as_json(again) == as_json(summary)


def test_risk_tier_thresholds_are_inclusive_and_configurable():
    assert risk_tiers(np.array([0.66, 0.659, 0.33, 0.1, np.nan])) == [
        "high",
        "medium",
        "medium",
        "low",
        None,
    ]
    assert risk_tiers(np.array([0.5, 0.2]), high_threshold=0.5, medium_threshold=0.2) == [
        "high",
        "medium",
    ]


def test_single_class_training_falls_back_to_the_base_rate():
    training = churn_frame(n=50).assign(is_churned=False)  # booleans are accepted
    scores, summary = train_churn_model(training, training.drop(columns="is_churned"))
    assert summary["algorithm"] == "constant_base_rate"
    assert np.isnan(summary["auc"]) and summary["top_drivers"] == []
    assert summary["base_rate_train"] == 0.0
    assert (scores["churn_probability"] == 0.0).all() and len(scores) == 50
    assert set(scores["churn_risk_tier"]) == {"low"}


def test_the_scoring_model_is_the_one_its_holdout_metrics_describe():
    """One fit: the model that scores is the non-holdout fit, so its own scores of the holdout
    rows reproduce the summary's AUC and Brier score."""
    from sklearn.metrics import roc_auc_score

    training = churn_frame(n=800)
    hold = holdout_mask(training["person_id"], 0.25)
    model, summary = fit_churn_model(training, training.drop(columns="is_churned"), max_iter=30)
    assert summary["params"]["fitted_on"] == "non_holdout_rows"
    assert summary["n_train"] == int((~hold).sum())
    probability = churn_probability(model, training[hold])
    truth = training["is_churned"].to_numpy()[hold]
    assert round(roc_auc_score(truth, probability), 6) == summary["auc"]
    assert round(float(np.mean((probability - truth) ** 2)), 6) == summary["brier"]


def test_no_model_when_the_non_holdout_rows_have_one_class():
    training = churn_frame(n=200)
    hold = holdout_mask(training["person_id"], 0.25)
    training["is_churned"] = hold.astype(int)  # the churners are all in the holdout
    scores, summary = train_churn_model(training, training.drop(columns="is_churned"), max_iter=20)
    assert summary["algorithm"] == "constant_base_rate" and np.isnan(summary["auc"])
    assert summary["base_rate_train"] == 0.0 and summary["base_rate_holdout"] == 1.0
    # everyone gets the base rate of every labelled row
    assert (scores["churn_probability"] == round(hold.mean(), 6)).all()


def test_empty_training_and_empty_scoring_keep_the_output_shape():
    training = churn_frame(n=40)
    scores, summary = train_churn_model(training.iloc[0:0], training.drop(columns="is_churned"))
    assert summary["algorithm"] == "constant_base_rate" and summary["n_train"] == 0
    assert scores["churn_probability"].isna().all() and scores["churn_risk_tier"].isna().all()
    full, _ = train_churn_model(training, training.drop(columns="is_churned"), max_iter=20)
    empty, summary = train_churn_model(training, training.iloc[0:0], max_iter=20)
    assert empty.empty and list(empty.columns) == SCORE_COLUMNS
    assert empty.dtypes.to_dict() == full.dtypes.to_dict() and summary["n_scored"] == 0


def test_churn_inputs_are_validated():
    training = churn_frame(n=30)
    scoring = training.drop(columns=["is_churned", "signal"])
    with pytest.raises(ValueError, match="signal"):
        train_churn_model(training, scoring)
    with pytest.raises(ValueError, match="0/1"):
        train_churn_model(training.assign(is_churned=2), training)
    with pytest.raises(ValueError, match="one row per person_id"):
        train_churn_model(pd.concat([training, training.iloc[:1]]), training)


def test_missing_labels_are_skipped_not_guessed():
    training = churn_frame(n=60)
    training["is_churned"] = training["is_churned"].astype("Int64")
    training.loc[:9, "is_churned"] = pd.NA
    _, summary = train_churn_model(training, training.drop(columns="is_churned"), max_iter=20)
    assert summary["n_label_missing"] == 10
    assert summary["n_train"] + summary["n_holdout"] == 50


def test_segment_classifier_recovers_separable_segments():
    training = segment_frame()
    predictions, summary = train_segment_classifier(training, "segment", max_iter=60)
    assert list(predictions.columns) == SEGMENT_COLUMNS
    assert predictions["person_id"].tolist() == sorted(training["person_id"])
    assert summary["f1_macro"] > 0.9 and summary["accuracy"] > summary["baseline_accuracy"]
    assert summary["baseline_accuracy"] < 0.5
    assert set(summary["f1_per_class"]) == {"loyal", "lapsing", "new"}
    assert sum(summary["class_counts"].values()) == summary["n_train"]  # the rows fitted on
    assert predictions["predicted_probability"].between(0, 1).all()
    assert (predictions["predicted_segment"] == predictions["actual_segment"]).mean() > 0.9
    assert np.array_equal(
        predictions["is_holdout"].to_numpy(), holdout_mask(predictions["person_id"], 0.25)
    )
    assert summary["n_holdout"] == int(predictions["is_holdout"].sum())
    shuffled, again = train_segment_classifier(
        training.sample(frac=1.0, random_state=2), "segment", max_iter=60
    )
    pd.testing.assert_frame_equal(shuffled, predictions)
    assert as_json(again) == as_json(summary)


def test_segment_classifier_accepts_integer_targets_and_returns_text():
    training = segment_frame(n=300)
    training["cluster_id"] = training["segment"].map({"loyal": 0, "lapsing": 1, "new": 2})
    predictions, summary = train_segment_classifier(
        training.drop(columns="segment"), "cluster_id", max_iter=30
    )
    assert summary["classes"] == ["0", "1", "2"]
    assert set(predictions["predicted_segment"]) <= {"0", "1", "2"}
    assert "cluster_id" not in summary["features"]


def test_segment_classifier_with_one_class_or_tiny_input_predicts_that_class():
    training = segment_frame(n=20).assign(segment="loyal")
    predictions, summary = train_segment_classifier(training, "segment")
    assert summary["algorithm"] == "majority_class" and np.isnan(summary["f1_macro"])
    assert set(predictions["predicted_segment"]) == {"loyal"}
    assert (predictions["predicted_probability"] == 1.0).all()
    one, summary = train_segment_classifier(segment_frame(n=1), "segment")
    assert len(one) == 1 and one["predicted_probability"].iloc[0] == 1.0
    assert np.isnan(summary["accuracy"])
    none, _ = train_segment_classifier(segment_frame(n=5).iloc[0:0], "segment")
    assert none.empty and list(none.columns) == SEGMENT_COLUMNS


def test_permutation_table_ranks_the_planted_feature_first_for_a_binary_target():
    table = permutation_importance_table(churn_frame(n=1200), "is_churned", "churn", n_repeats=3)
    assert list(table.columns) == IMPORTANCE_COLUMNS
    assert table["feature"].iloc[0] == "signal" and table["scoring"].iloc[0] == "roc_auc"
    assert table["importance_rank"].tolist() == list(range(1, len(FEATURES) + 1))
    assert set(table["task"]) == {"churn"} and table["baseline_score"].iloc[0] > 0.8
    assert table["importance_mean"].is_monotonic_decreasing


def test_permutation_table_ranks_the_planted_feature_first_for_a_multiclass_target():
    frame = segment_frame().drop(columns="second")
    table = permutation_importance_table(frame, "segment", "segment", n_repeats=3)
    assert table["feature"].iloc[0] == "signal" and table["scoring"].iloc[0] == "f1_macro"
    assert table["importance_rank"].tolist() == [1, 2, 3]
    assert table["baseline_score"].iloc[0] > 0.9


@pytest.mark.parametrize("scoring", ["roc_auc", "f1_macro", "f1_macro_binary", "neg_brier"])
def test_per_tree_permutation_scores_equal_sklearns_permutation_importance(scoring):
    """Re-predicting only the trees that split on the shuffled column gives sklearn's numbers
    exactly: with missing values in the features, a multiclass target with a holdout label the
    model never saw, and a binary target scored by f1."""
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import get_scorer

    from python_utils import supervised

    rng = np.random.RandomState(0)
    x = rng.normal(size=(400, 6))
    x[rng.random_sample(x.shape) < 0.1] = np.nan
    if scoring == "f1_macro":
        y = np.array(["a", "b", "c"])[
            (np.nan_to_num(x[:, 0]) > 0).astype(int) + (np.nan_to_num(x[:, 1]) > 1).astype(int)
        ]
        y[-5:] = "d"  # a holdout-only label
    elif scoring == "f1_macro_binary":
        y = np.array(["no", "yes"])[(np.nan_to_num(x[:, 0]) > 0).astype(int)]
        scoring = "f1_macro"
    else:
        y = (np.nan_to_num(x[:, 0]) + rng.normal(size=len(x)) > 0).astype(int)
    scorer = supervised._neg_brier if scoring == "neg_brier" else scoring
    model = supervised._classifier(42, 20).fit(x[:300], y[:300])
    baseline, scores = supervised._permutation_scores(model, x[300:], y[300:], scorer, 7, 3)
    reference = permutation_importance(
        model, x[300:], y[300:], scoring=scorer, n_repeats=3, random_state=7
    )
    expected_baseline = (scorer if callable(scorer) else get_scorer(scorer))(
        model, x[300:], y[300:]
    )
    assert baseline == expected_baseline
    np.testing.assert_array_equal(baseline - scores, reference.importances)


def test_permutation_table_with_one_class_has_zero_importance_and_no_baseline():
    frame = churn_frame(n=80).assign(is_churned=1)
    table = permutation_importance_table(frame, "is_churned", "churn", exclude=("noise_c",))
    assert table["feature"].tolist() == ["noise_a", "noise_b", "signal"]  # ties: by name
    assert (table["importance_mean"] == 0).all() and table["baseline_score"].isna().all()
    assert table["importance_rank"].tolist() == [1, 2, 3]


def test_hash_sample_is_order_free_and_capped():
    frame = churn_frame(n=500)
    sample = hash_sample(frame, 120)
    again = hash_sample(frame.iloc[::-1].reset_index(drop=True), 120)
    assert len(sample) == 120 and set(sample["person_id"]) == set(again["person_id"])
    assert sample["person_id"].is_monotonic_increasing
    assert hash_sample(frame, 1000) is frame


def test_training_is_capped_by_a_deterministic_sample_and_everyone_is_still_scored():
    training = segment_frame(n=900)
    predictions, summary = train_segment_classifier(
        training, "segment", max_iter=40, max_training_rows=300
    )
    assert summary["n_train"] + summary["n_holdout"] == 300
    assert summary["n_labelled_available"] == 900
    assert len(predictions) == 900 and predictions["predicted_segment"].notna().all()
    assert summary["f1_macro"] > 0.85  # 300 persons still separate the segments
    shuffled, _ = train_segment_classifier(
        training.sample(frac=1.0, random_state=3), "segment", max_iter=40, max_training_rows=300
    )
    pd.testing.assert_frame_equal(shuffled, predictions)  # the sample ignores row order
    scoring = churn_frame(n=200, seed=6, prefix="q").drop(columns="is_churned")
    scores, churn = train_churn_model(churn_frame(), scoring, max_iter=60, max_training_rows=500)
    assert churn["n_train"] + churn["n_holdout"] == 500
    assert churn["n_labelled_available"] == 1600 and len(scores) == 200
    assert churn["auc"] > 0.75


def test_scoring_and_evaluation_fits_can_run_apart_with_the_same_results():
    # The scoring models skip the holdout fit and supervised_model_runs skips the scoring fit:
    # each part must equal what the combined call gives.
    scores, summary, scoring = planted_churn()
    scores_only, unevaluated = train_churn_model(
        churn_frame(), scoring, max_iter=100, evaluate=False
    )
    pd.testing.assert_frame_equal(scores_only, scores)
    assert np.isnan(unevaluated["auc"]) and unevaluated["top_drivers"] == []
    unscored, evaluated = train_churn_model(churn_frame(), scoring, max_iter=100, score_rows=False)
    assert as_json(evaluated) == as_json(summary)
    assert unscored["churn_probability"].isna().all() and len(unscored) == len(scores)

    frame = segment_frame()
    predictions, segment_summary = train_segment_classifier(frame, "segment", max_iter=60)
    predicted_only, segment_unevaluated = train_segment_classifier(
        frame, "segment", max_iter=60, evaluate=False
    )
    pd.testing.assert_frame_equal(predicted_only, predictions)
    assert np.isnan(segment_unevaluated["f1_macro"])
    unpredicted, segment_evaluated = train_segment_classifier(
        frame, "segment", max_iter=60, predict=False
    )
    assert as_json(segment_evaluated) == as_json(segment_summary)
    assert unpredicted["predicted_segment"].isna().all()
    assert segment_summary["f1_macro"] > 0.8


def test_run_rows_keep_the_latest_run_when_a_build_repeats_it():
    summaries = [
        {
            "model": "churn",
            "algorithm": "logistic_regression",
            "n_train": 30,
            "n_holdout": 10,
            "auc": 0.8,
        }
    ]
    first = run_rows(summaries, None, "2026-06-30", {"churn": 1.5})
    # a re-run of an interrupted build: the same results and as_of give the latest rows again
    repeat = run_rows(summaries, first, "2026-06-30", {"churn": 2.5})
    pd.testing.assert_frame_equal(repeat, first)
    later = run_rows(summaries, first, "2026-07-01", {"churn": 2.5})
    assert list(later["run_number"]) == [2] and later.loc[0, "run_id"] != first.loc[0, "run_id"]
    assert list(later["model_blob"].isna()) == [True]  # no model given: none stored


# --- stored models (supervised_model_runs.model_blob) -----------------------------------------

FRESH_FIT = """
import hashlib, pathlib, sys
from test_supervised import churn_frame
from python_utils.supervised import StoredModel, fit_churn_model
StoredModel.from_blob(pathlib.Path(sys.argv[1]).read_text())
scoring = churn_frame(n=120, seed=6, prefix="q").drop(columns="is_churned")
model, _ = fit_churn_model(churn_frame(n=400), scoring, max_iter=40, evaluate=False)
print(hashlib.sha256(model.to_blob().encode()).hexdigest())
"""


def test_a_stored_model_scores_like_the_fit_that_stored_it_and_is_byte_deterministic(tmp_path):
    training = churn_frame(n=400)
    scoring = churn_frame(n=120, seed=6, prefix="q").drop(columns="is_churned")
    model, summary = fit_churn_model(training, scoring, max_iter=40, evaluate=False)
    blob = model.to_blob()
    assert blob.startswith(f"{MODEL_FORMAT} scikit-learn=")
    loaded = StoredModel.from_blob(blob)
    assert loaded.features == tuple(FEATURES) and loaded.algorithm == "hist_gradient_boosting"
    scores, _ = train_churn_model(training, scoring, max_iter=40, evaluate=False)
    stored = np.round(churn_probability(loaded, scoring.sort_values("person_id")), 6)
    assert np.array_equal(stored, scores["churn_probability"].to_numpy())
    again, _ = fit_churn_model(
        training.sample(frac=1.0, random_state=1), scoring, max_iter=40, evaluate=False
    )
    assert again.to_blob() == blob  # the same fit, the same text
    # ... also in a process that loaded another model before its first fit (a pickle with a
    # memo would depend on which equal strings the process happens to share)
    other, _ = fit_churn_model(churn_frame(n=300, seed=3), scoring, max_iter=30, evaluate=False)
    (tmp_path / "other.blob").write_text(other.to_blob())
    here = Path(__file__).parent
    path = os.pathsep.join([str(here.parents[1]), os.environ.get("PYTHONPATH", "")])
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH_FIT, str(tmp_path / "other.blob")],
        capture_output=True,
        text=True,
        check=True,
        cwd=here,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert fresh.stdout.strip() == hashlib.sha256(blob.encode()).hexdigest()

    frame = segment_frame(n=300)
    classifier, _ = fit_segment_classifier(frame, "segment", max_iter=20, evaluate=False)
    today = segment_frame(n=200, seed=9)  # other rows (today's features), the same columns
    predicted = predict_segments(today, "segment", StoredModel.from_blob(classifier.to_blob()))
    expected = classifier.estimator.predict(
        today.sort_values("person_id")[list(classifier.features)].to_numpy()
    )
    assert predicted["predicted_segment"].tolist() == expected.tolist()
    expected_actual = today.sort_values("person_id")["segment"].tolist()
    assert predicted["actual_segment"].tolist() == expected_actual


def test_model_less_runs_store_their_constant():
    training = churn_frame(n=50).assign(is_churned=1)
    model, _ = fit_churn_model(training, training.drop(columns="is_churned"))
    loaded = StoredModel.from_blob(model.to_blob())
    assert loaded.algorithm == "constant_base_rate" and loaded.estimator is None
    assert (churn_probability(loaded, training) == 1.0).all()
    empty, _ = fit_churn_model(training.iloc[0:0], training.drop(columns="is_churned"))
    assert np.isnan(churn_probability(StoredModel.from_blob(empty.to_blob()), training)).all()
    single = segment_frame(n=20).assign(segment="loyal")
    majority, _ = fit_segment_classifier(single, "segment")
    predicted = predict_segments(
        segment_frame(n=7), "segment", StoredModel.from_blob(majority.to_blob())
    )
    assert set(predicted["predicted_segment"]) == {"loyal"}
    assert (predicted["predicted_probability"] == 1.0).all()


def test_a_stored_estimator_loads_only_under_its_scikit_learn_version():
    import sklearn

    model, _ = fit_churn_model(
        churn_frame(n=200), churn_frame(n=5).drop(columns="is_churned"), max_iter=5, evaluate=False
    )
    other = model.to_blob().replace(f"scikit-learn={sklearn.__version__}", "scikit-learn=0.1", 1)
    with pytest.raises(ValueError, match="scikit-learn 0.1"):
        StoredModel.from_blob(other)
    constant, _ = fit_churn_model(
        churn_frame(n=20).assign(is_churned=0), churn_frame(n=5).drop(columns="is_churned")
    )
    text = constant.to_blob().replace(f"scikit-learn={sklearn.__version__}", "scikit-learn=0.1")
    assert StoredModel.from_blob(text).constant_probability == 0.0  # no estimator to mistrust
    with pytest.raises(ValueError, match="not a stored model"):
        StoredModel.from_blob("{}")
    with pytest.raises(ValueError, match="cannot score churn"):
        churn_probability(StoredModel("segment_classifier", "majority_class", ()), churn_frame())


def test_run_rows_store_the_models_and_a_repeat_keeps_them():
    summaries = [
        {"model": "churn", "algorithm": "x", "n_train": 30, "n_holdout": 10},
        {"model": "segment_classifier", "algorithm": "x", "n_train": 3, "n_holdout": 1},
    ]
    models = {"churn": "churn-model", "segment_classifier": "classifier-model"}
    first = run_rows(summaries, None, "2026-06-30", {}, models)
    assert first["model_blob"].tolist() == ["churn-model", "classifier-model"]
    repeat = run_rows(summaries, first, "2026-06-30", {}, {"churn": "other"})
    pd.testing.assert_frame_equal(repeat, first)
    # a log written before runs stored their models: the repeated run gains this build's
    unstored = run_rows(summaries, first.drop(columns="model_blob"), "2026-06-30", {}, models)
    pd.testing.assert_frame_equal(unstored, first)


def test_the_run_in_force_scores_and_a_run_without_a_stored_model_gives_way_to_the_latest():
    judged = pd.DataFrame(
        {
            "run_id": ["c1", "k1", "c2", "k2", "c3"],
            "run_number": [1, 1, 2, 2, 3],
            "model_name": ["churn", "segment_classifier", "churn", "segment_classifier", "churn"],
            "is_in_force": [False, True, True, False, False],
        }
    )
    assert scoring_candidates(judged, "churn") == ["c2", "c3"]
    assert scoring_candidates(judged, "segment_classifier") == ["k1", "k2"]
    stored = pd.DataFrame({"run_id": ["c2", "c3"], "model_blob": ["two", "three"]})
    assert choose_scoring_run(["c2", "c3"], stored) == ("c2", "two")
    logged_before_models = pd.DataFrame({"run_id": ["k1", "k2"], "model_blob": [None, "new"]})
    assert choose_scoring_run(["k1", "k2"], logged_before_models) == ("k2", "new")
    with pytest.raises(ValueError, match="no stored model"):
        choose_scoring_run(["k1"], logged_before_models)
    with pytest.raises(ValueError, match="no churn run"):
        scoring_candidates(judged[judged["model_name"] != "churn"], "churn")
    with pytest.raises(ValueError, match="3 churn runs are in force"):
        scoring_candidates(judged.assign(is_in_force=True), "churn")
