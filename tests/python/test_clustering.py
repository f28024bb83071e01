"""Unit tests of python_utils.clustering on small deterministic data."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from python_utils.clustering import (
    feature_columns, fit_kmeans, match_to_previous, merge_small_clusters, name_clusters,
    nearest_centroid, relation_to_pandas, standardise, validation_scores,
)


def blobs(seed: int = 3, per_cluster: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [6, 0, 0], [0, 6, 0], [0, 0, 6]], dtype=float)
    points = np.vstack([rng.normal(c, 0.7, size=(per_cluster, 3)) for c in centres])
    truth = np.repeat(np.arange(len(centres)), per_cluster)
    return points, truth


def test_relation_to_pandas_reads_duckdb_relations_and_lower_cases_columns():
    with duckdb.connect() as connection:
        relation = connection.sql("select 1 as PERSON_ID, 2.5 as Log_Session_Count")
        frame = relation_to_pandas(relation)
    assert list(frame.columns) == ["person_id", "log_session_count"]


def test_feature_columns_skip_ids_flags_and_text_and_are_sorted():
    frame = pd.DataFrame({"person_id": ["a"], "zeta": [1.0], "alpha": [2], "is_age_imputed": [True],
                          "customer_id": ["c"], "label": ["x"]})
    assert feature_columns(frame) == ["alpha", "zeta"]


def test_standardise_handles_constant_columns():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [5.0, 5.0, 5.0]})
    result = standardise(frame, ["a", "b"])
    assert np.allclose(result.matrix[:, 0].mean(), 0) and np.allclose(result.matrix[:, 1], 0)
    assert result.scales[1] == 1.0


def test_fit_kmeans_finds_the_planted_blobs_and_keeps_every_score():
    points, truth = blobs()
    result = fit_kmeans(points, range(2, 8), seed=7, sample_size=500)
    assert result.k == 4
    assert set(result.scores_by_k) == set(range(2, 8))
    assert adjusted_rand_score(truth, result.labels) > 0.99
    again = fit_kmeans(points, range(2, 8), seed=7, sample_size=500)
    assert np.array_equal(result.labels, again.labels)  # same input and seed, same output


def test_minibatch_is_used_above_the_threshold_and_still_recovers_blobs():
    points, truth = blobs(per_cluster=300)
    result = fit_kmeans(points, [4], seed=7, minibatch_above=1000)
    assert result.algorithm == "minibatch_kmeans"
    assert adjusted_rand_score(truth, result.labels) > 0.95


def test_validation_scores_rank_a_good_partition_above_a_bad_one():
    points, truth = blobs()
    good = validation_scores(points, truth, 500, 7)
    bad = validation_scores(points, np.arange(len(points)) % 4, 500, 7)
    assert good["silhouette"] > 0.6 > bad["silhouette"]
    assert good["davies_bouldin"] < bad["davies_bouldin"]
    assert good["calinski_harabasz"] > bad["calinski_harabasz"]


def test_nearest_centroid_breaks_ties_towards_the_lower_index():
    labels, distances = nearest_centroid(np.array([[0.0], [1.0]]), np.array([[-1.0], [1.0]]))
    assert labels.tolist() == [0, 1] and distances.tolist() == [1.0, 0.0]


def test_small_clusters_are_merged_into_their_nearest_neighbour_and_recorded():
    points, truth = blobs(per_cluster=50)
    labels = truth.copy()
    labels[:3] = 9  # a tiny cluster carved out of cluster 0
    merged, centroids, merges = merge_small_clusters(points, labels, min_size=10)
    assert merges == [{"merged_cluster": 9, "into_cluster": 0, "size": 3}]
    assert len(np.unique(merged)) == 4 and centroids.shape == (4, 3)
    assert adjusted_rand_score(truth, merged) == 1.0


def test_hungarian_matching_keeps_ids_when_clusters_are_reordered():
    previous = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0]])
    shuffled = previous[[2, 0, 1]] + 0.1
    assert match_to_previous(previous, shuffled) == {0: 2, 1: 0, 2: 1}
    grown = np.vstack([shuffled, [[20.0, 20.0]]])
    assert match_to_previous(previous, grown)[3] == 3  # a new cluster gets a fresh id


def test_cluster_names_are_readable_distinct_and_explained():
    profiles = pd.DataFrame(
        {"log_monetary_total": [2.0, -1.0, 2.1], "night_session_share": [0.1, 2.5, 0.0],
         "mobile_session_share": [0.0, 1.5, 0.2], "log_recency_days": [-1.0, 0.2, -0.9]},
        index=[0, 1, 2],
    )
    names = name_clusters(profiles)
    assert names[0][0] == "High-value Recent"
    assert names[1][0] == "Late-night Mobile"
    assert len({name for name, _ in names.values()}) == 3
    assert names[2][0] != names[0][0]
    assert names[1][1][0].startswith("night_session_share +2.5sd")


@pytest.mark.parametrize("bad", [range(0, 1), [1]])
def test_fit_kmeans_refuses_an_empty_k_range(bad):
    points, _ = blobs(per_cluster=5)
    with pytest.raises(ValueError):
        fit_kmeans(points, bad, seed=1)


def test_cluster_assignments_are_deterministic_complete_and_named():
    from python_utils.clustering import cluster_assignments

    points, truth = blobs(per_cluster=60)
    frame = pd.DataFrame(points, columns=["log_monetary_total", "night_session_share",
                                          "mobile_session_share"])
    frame.insert(0, "person_id", [f"p{i:04d}" for i in range(len(frame))])
    shuffled = frame.sample(frac=1.0, random_state=1)  # input order must not matter
    first, summary = cluster_assignments(frame, [2, 3, 4, 5], seed=7, min_cluster_size=5)
    second, _ = cluster_assignments(shuffled, [2, 3, 4, 5], seed=7, min_cluster_size=5)
    pd.testing.assert_frame_equal(first, second)
    assert summary["k_chosen"] == 4 and summary["merges"] == []
    assert first["person_id"].tolist() == sorted(frame["person_id"])
    assert adjusted_rand_score(truth, first["cluster_id"]) > 0.99
    assert first["cluster_name"].nunique() == 4
    assert first["confidence"].between(0, 1).all()
    assert set(summary["scores_by_k"]) == {2, 3, 4, 5}


def test_tiny_and_empty_inputs_still_place_every_person():
    from python_utils.clustering import cluster_assignments

    tiny = pd.DataFrame({"person_id": ["b", "a"], "log_monetary_total": [1.0, 2.0]})
    assignments, summary = cluster_assignments(tiny, [3, 4], seed=1, min_cluster_size=1)
    assert assignments["person_id"].tolist() == ["a", "b"]
    assert assignments["cluster_id"].tolist() == [0, 0] and summary["k_after_merges"] == 1
    empty, summary = cluster_assignments(tiny.iloc[0:0], [3, 4], seed=1, min_cluster_size=1)
    assert empty.empty and list(empty.columns)[:2] == ["person_id", "cluster_id"]
