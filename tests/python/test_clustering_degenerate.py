"""Degenerate features and ties: the Python assignment and the SQL scoring agree on every shape.

A property test over deterministically generated shapes (numpy seeds; `hypothesis` is not part
of the environment): constant, near-constant (variance ~1e-30 relative), all-null, all-imputed
and duplicated features, persons with identical vectors, persons equidistant from two
centroids, a single person and very few persons. For each, the model is fitted, its tables
(model_tables: what cluster_scaler and cluster_centroids store) are loaded into DuckDB and the
real customer_cluster_scores.sql is rendered over them (ref / var stubbed, the project's
exact_sum macro included): every person must get the same cluster from both.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pandas as pd
import pytest

from python_utils.cluster_runs import model_run, params_from_meta
from python_utils.clustering import (
    ClusterModel,
    ClusterParams,
    assign_clusters,
    degenerate_features,
    fit_cluster_model,
    model_tables,
    tie_broken_nearest,
)

ROOT = Path(__file__).resolve().parents[2]
SCORING_SQL = ROOT / "models" / "marts" / "segmentation" / "customer_cluster_scores.sql"
EXACT_SUM = ROOT / "macros" / "utils" / "exact_sum.sql"
TIE_TOLERANCE = 1e-9


def sql_scores(model: ClusterModel, frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """customer_cluster_scores.sql, rendered with the project's macro, over the model tables."""
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        EXACT_SUM.read_text() + SCORING_SQL.read_text()
    )
    variables = {"cluster_features": features, "cluster_tie_tolerance": model.tie_tolerance}
    sql = template.render(ref=lambda name: name, var=lambda name: variables[name])
    scaler, centroids = model_tables(model)
    with duckdb.connect() as connection:
        connection.register("customer_features", frame)
        connection.register("cluster_scaler", scaler)
        connection.register("cluster_centroids", centroids)
        return connection.sql(sql + " order by person_id").df()


def base_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Three informative features in blobs (so that there are several clusters)."""
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 5.0, 1.0]])
    rows = centres[rng.integers(0, len(centres), size=n)] + rng.normal(0, 0.6, size=(n, 3))
    frame = pd.DataFrame(
        rows, columns=["log_order_count", "night_session_share", "products_per_session"]
    )
    frame.insert(0, "person_id", [f"p{i:04d}" for i in range(n)])
    return frame


def shape(name: str, seed: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """A customer_features-like frame of the named shape and the drops it must cause."""
    rng = np.random.default_rng(seed)
    n = {"single_person": 1, "two_persons": 2, "three_persons": 3, "five_persons": 5}.get(name, 90)
    frame = base_frame(rng, n)
    expected: dict[str, str] = {}
    if name in ("constant", "everything"):
        frame["log_tenure_days"] = np.log1p(3650.0)  # one imputed tenure for everyone
        expected["log_tenure_days"] = "zero_variance"
    if name in ("near_constant", "everything"):
        value = np.log1p(3650.0)
        frame["age_years"] = value * (1 + 1e-15 * rng.standard_normal(n))  # ~1e-30 relative
        expected["age_years"] = "near_zero_variance"
    if name in ("all_null", "everything"):
        frame["email_open_rate"] = np.nan
        expected["email_open_rate"] = "all_null"
    if name in ("all_imputed", "everything"):  # varied values, but imputed for everyone
        frame["blog_view_share"] = rng.uniform(0, 1, size=n)
        frame["is_behaviour_imputed"] = True
        expected["blog_view_share"] = "all_imputed:is_behaviour_imputed"
    if name in ("all_imputed_by_name", "everything"):
        frame["loyalty_level"] = rng.integers(0, 4, size=n).astype(float)
        frame["is_loyalty_imputed"] = True  # not in the map: covers loyalty_* by its name
        expected["loyalty_level"] = "all_imputed:is_loyalty_imputed"
    if name in ("duplicated", "everything"):
        frame["log_order_count_copy"] = frame["log_order_count"]
    if name in ("identical_persons", "everything"):
        frame.iloc[1, 1:4] = frame.iloc[0, 1:4].to_numpy()
        frame.iloc[2, 1:4] = frame.iloc[0, 1:4].to_numpy()
    if name == "mirrored":  # two mirrored groups: the probes between them are (last-bit) ties
        half = rng.normal(3.0, 0.5, size=(40, 3))
        rows = np.vstack([half, -half])
        frame = pd.DataFrame(
            rows, columns=["log_order_count", "night_session_share", "products_per_session"]
        )
        frame.insert(0, "person_id", [f"p{i:04d}" for i in range(len(frame))])
    if name in ("single_person",):
        expected = {c: "zero_variance" for c in frame.columns if c != "person_id"}
    return frame, expected


def with_midpoint_probes(model: ClusterModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame plus one new person halfway between every two centroids (in raw units, so
    that the back-transformation leaves them tied up to the last bits): the tie rule decides."""
    probes = []
    centroids = np.array(model.centroids).reshape(len(model.cluster_ids), len(model.features))
    for i in range(len(centroids)):
        for j in range(i + 1, len(centroids)):
            row = frame.iloc[0].to_dict()
            raw = (centroids[i] + centroids[j]) / 2 * np.array(model.scales) + np.array(model.means)
            row.update(dict(zip(model.features, raw)))
            row["person_id"] = f"zz_probe_{model.cluster_ids[i]}_{model.cluster_ids[j]}"
            probes.append(row)
    return pd.concat([frame, pd.DataFrame(probes, columns=frame.columns)], ignore_index=True)


SHAPES = [
    "constant",
    "near_constant",
    "all_null",
    "all_imputed",
    "all_imputed_by_name",
    "duplicated",
    "identical_persons",
    "mirrored",
    "everything",
    "single_person",
    "two_persons",
    "three_persons",
    "five_persons",
]
IMPUTED_FLAGS = {"is_behaviour_imputed": ["blog_view_share"], "is_age_imputed": ["age_years"]}


@pytest.mark.parametrize("algorithm", ["kmeans", "hierarchical"])
@pytest.mark.parametrize("name", SHAPES)
def test_python_assignment_and_sql_scoring_agree_on_every_shape(name, algorithm):
    for seed in (1, 2):
        frame, expected = shape(name, seed)
        features = sorted(c for c in frame.columns if c != "person_id" and not c.startswith("is_"))
        params = ClusterParams(
            algorithm=algorithm,
            features=features,
            k_values=[2, 3, 4, 5],
            seed=seed,
            min_cluster_size=3,
            sample_size=500,
            imputed_flags=IMPUTED_FLAGS,
            tie_tolerance=TIE_TOLERANCE,
        )
        model, summary = fit_cluster_model(frame, params)
        assert summary["dropped_features"] == expected, (name, seed)
        assert model.dropped_features == expected
        kept = [c for c in features if c not in expected]
        scaler, centroids = model_tables(model)
        # the stored scaler is exactly the one applied, with no degenerate scale left in it
        assert scaler["feature"].tolist() == model.features == kept
        assert (scaler["feature_scale"] > 1e-6).all()
        scored = with_midpoint_probes(model, frame)
        python = assign_clusters(model, scored)
        sql = sql_scores(model, scored, features)
        assert sql["person_id"].tolist() == python["person_id"].tolist(), (name, seed)
        assert sql["cluster_id"].tolist() == python["cluster_id"].tolist(), (name, seed)
        np.testing.assert_allclose(
            sql["distance_to_centroid"], python["distance_to_centroid"], atol=1e-5
        )
        if name == "identical_persons":
            assert (
                python["cluster_id"].iloc[0]
                == python["cluster_id"].iloc[1]
                == python["cluster_id"].iloc[2]
            )
        if name == "mirrored":  # two clusters, the probe between them is a tie: smaller id
            assert len(model.cluster_ids) == 2
            assert python["cluster_id"].iloc[-1] == min(model.cluster_ids)
        if not kept:
            assert centroids["feature"].isna().all() and len(centroids) == len(model.cluster_ids)


def tie_model(ids: list[int]) -> ClusterModel:
    """Two centroids at -1 and +1 on one feature (mean 0, scale 1)."""
    return ClusterModel(
        algorithm="kmeans",
        features=["log_order_count"],
        means=[0.0],
        scales=[1.0],
        cluster_ids=ids,
        cluster_names=["Left", "Right"],
        cluster_traits=[[], []],
        centroids=[[-1.0], [1.0]],
        pca_mean=[0.0],
        pca_components=[[0.0], [0.0]],
    )


@pytest.mark.parametrize("ids", [[5, 2], [2, 5]])
def test_exact_and_last_bit_ties_go_to_the_smallest_cluster_id_in_both(ids):
    # 0 is exactly between; 1e-17 and -2e-16 differ from a tie only in the last bits
    frame = pd.DataFrame(
        {"person_id": ["a", "b", "c", "d"], "log_order_count": [0.0, 1e-17, -2e-16, 0.9]}
    )
    model = tie_model(ids)
    python = assign_clusters(model, frame)
    sql = sql_scores(model, frame, ["log_order_count"])
    right = ids[1]
    assert python["cluster_id"].tolist() == [2, 2, 2, right]
    assert sql["cluster_id"].tolist() == python["cluster_id"].tolist()


def test_tie_band_is_relative_above_one_and_absolute_below():
    ids = np.array([3, 1, 2])
    squared = np.array(
        [
            [4.0, 4.0 + 3e-9, 4.0 + 5e-9],  # band 4e-9: 3 and 1 tie -> 1
            [0.5, 0.5 + 2e-9, 0.5],  # band 1e-9: 3 and 2 tie -> 2
            [1e6, 1e6 + 5e-4, 1e6 + 2e-3],
        ]
    )  # band 1e-3: 3 and 1 tie -> 1
    rows = tie_broken_nearest(squared, ids, 1e-9)
    assert ids[rows].tolist() == [1, 2, 1]


def test_degenerate_features_name_their_reason_and_keep_real_spread():
    frame = pd.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "tiny_but_real": [1e-20, -1e-20, 0.0],  # scale-free: real spread is kept
            "flat": [2.0, 2.0, 2.0],
            "noisy_flat": [7.0, 7.0 * (1 + 2e-16), 7.0],
            "age_years": [30.0, 40.0, 50.0],
            "is_age_imputed": [True, True, True],
            "gone": [np.nan, np.nan, np.nan],
        }
    )
    columns = ["age_years", "flat", "gone", "noisy_flat", "tiny_but_real"]
    assert degenerate_features(frame, columns, 1e-12) == {
        "age_years": "all_imputed:is_age_imputed",
        "flat": "zero_variance",
        "gone": "all_null",
        "noisy_flat": "near_zero_variance",
    }
    frame.loc[0, "is_age_imputed"] = False  # one real age: kept
    assert "age_years" not in degenerate_features(frame, columns, 1e-12)
    assert degenerate_features(frame.iloc[0:0], columns, 1e-12) == {}


def test_the_run_log_records_the_dropped_features_and_meta_passes_the_settings():
    meta = json.dumps(
        {
            "algorithm": "kmeans",
            "k_min": 2,
            "k_max": 4,
            "seed": 1,
            "min_cluster_size": 3,
            "variance_tolerance": 1e-10,
            "tie_tolerance": 1e-8,
            "imputed_flags": IMPUTED_FLAGS,
        }
    )
    params = params_from_meta(meta)
    assert params.variance_tolerance == 1e-10 and params.tie_tolerance == 1e-8
    assert params.imputed_flags == IMPUTED_FLAGS
    frame, expected = shape("everything", 3)
    run = model_run(frame, params, None, pd.Timestamp("2026-03-06").date())
    assert json.loads(run["dropped_features_json"].iloc[0]) == expected
    assert run["feature_count"].iloc[0] == len(json.loads(run["features_json"].iloc[0]))
    model = ClusterModel.from_json(run["model_json"].iloc[0])
    assert model.tie_tolerance == 1e-8 and model.dropped_features == expected
    # a log row written before the column existed still repeats (the column comes back null)
    old = run.drop(columns=["dropped_features_json"])
    again = model_run(frame, params, old, pd.Timestamp("2026-03-06").date())
    assert again["run_id"].iloc[0] == run["run_id"].iloc[0]
