"""Unit tests of python_utils.clustering on small deterministic data."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from python_utils.cluster_naming import name_clusters
from python_utils.cluster_runs import latest_model, model_run, params_from_meta
from python_utils.clustering import (
    ALGORITHMS,
    ClusterModel,
    ClusterParams,
    assign_clusters,
    feature_columns,
    fit_cluster_model,
    fit_kmeans,
    match_to_previous,
    merge_small_clusters,
    model_tables,
    nearest_centroid,
    standardise,
    validation_scores,
)
from python_utils.engine import relation_to_pandas


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


def test_for_engine_upper_cases_and_hands_missing_texts_as_none_on_snowflake():
    from python_utils.engine import for_engine

    class SnowparkLike:
        def to_pandas(self):
            return pd.DataFrame()

    frame = pd.DataFrame({"person_id": ["a", "b"], "note": pd.Series(["x", None], dtype="string")})
    out = for_engine(frame, SnowparkLike())
    assert list(out.columns) == ["PERSON_ID", "NOTE"] and out["NOTE"].tolist() == ["x", None]
    with duckdb.connect() as connection:
        assert for_engine(frame, connection.sql("select 1")).equals(frame)


def test_relation_to_pandas_turns_decimal_objects_into_floats():
    from decimal import Decimal

    class SnowparkLike:  # Snowflake NUMBER(p, s) columns can arrive as Decimal objects
        def to_pandas(self):
            return pd.DataFrame({"PERSON_ID": ["a"], "SHARE": [Decimal("0.25")]})

    frame = relation_to_pandas(SnowparkLike())
    assert frame["share"].dtype == "float64" and frame["share"].iloc[0] == 0.25


def test_feature_columns_skip_ids_flags_and_text_and_are_sorted():
    frame = pd.DataFrame(
        {
            "person_id": ["a"],
            "zeta": [1.0],
            "alpha": [2],
            "is_age_imputed": [True],
            "customer_id": ["c"],
            "label": ["x"],
        }
    )
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
        {
            "log_monetary_total": [2.0, -1.0, 2.1],
            "night_session_share": [0.1, 2.5, 0.0],
            "mobile_session_share": [0.0, 1.5, 0.2],
            "log_recency_days": [-1.0, 0.2, -0.9],
        },
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


def blob_frame(per_cluster: int = 60, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    points, truth = blobs(seed=seed, per_cluster=per_cluster)
    frame = pd.DataFrame(
        points, columns=["log_monetary_total", "night_session_share", "mobile_session_share"]
    )
    frame.insert(0, "person_id", [f"p{i:04d}" for i in range(len(frame))])
    return frame, truth


PARAMS = dict(k_values=[2, 3, 4, 5, 6], seed=7, min_cluster_size=5, sample_size=500)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_recovers_the_blobs_deterministically(algorithm):
    frame, truth = blob_frame()
    params = ClusterParams(algorithm=algorithm, **PARAMS)
    model, summary = fit_cluster_model(frame, params)
    first = assign_clusters(model, frame)
    shuffled = frame.sample(frac=1.0, random_state=1)  # input order must not matter
    again_model, again_summary = fit_cluster_model(shuffled, params)
    assert again_model.to_json() == model.to_json()
    pd.testing.assert_frame_equal(first, assign_clusters(again_model, shuffled))
    assert first["person_id"].tolist() == sorted(frame["person_id"])
    clustered = first["cluster_id"] >= 0
    # DBSCAN (eps at the median neighbour distance) leaves the blobs' fringes as noise
    assert clustered.mean() > (0.75 if algorithm == "dbscan" else 0.999)
    assert adjusted_rand_score(truth[clustered], first.loc[clustered, "cluster_id"]) > 0.95
    assert summary["k_final"] == 4 and first["cluster_name"].nunique() == 4 + (~clustered).any()
    assert first["confidence"].between(0, 1).all()
    assert summary["validation"]["silhouette"] > 0.6
    if algorithm in ("kmeans", "hierarchical"):
        assert set(summary["scores_by_k"]) == {2, 3, 4, 5, 6} and summary["k_chosen"] == 4
    if algorithm == "gmm":
        import json

        soft = [json.loads(v) for v in first["cluster_probabilities"]]
        assert all(abs(sum(p.values()) - 1) < 1e-3 for p in soft)
        assert [max(p, key=p.get) for p in soft] == first["cluster_id"].astype(str).tolist()
    else:
        assert first["cluster_probabilities"].isna().all()
    if algorithm == "gmm":
        assert (
            summary["score_name"] == "bic"
            and min(summary["scores_by_k"], key=summary["scores_by_k"].get) == 4
        )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_stored_model_places_persons_exactly_as_fitted(algorithm):
    frame, _ = blob_frame()
    model, _ = fit_cluster_model(frame, ClusterParams(algorithm=algorithm, **PARAMS))
    restored = ClusterModel.from_json(model.to_json())
    pd.testing.assert_frame_equal(assign_clusters(model, frame), assign_clusters(restored, frame))


def test_sql_nearest_centroid_on_the_model_tables_equals_the_python_assignment():
    """The SQL of customer_cluster_scores, run on model_tables, agrees for every person."""
    frame, _ = blob_frame(per_cluster=150)
    model, _ = fit_cluster_model(frame, ClusterParams(**PARAMS))
    scaler, centroids = model_tables(model)
    python = assign_clusters(model, frame)
    with duckdb.connect() as connection:
        connection.register("features", frame)
        connection.register("scaler", scaler)
        connection.register("centroids", centroids)
        long = " union all ".join(
            f"select person_id, '{f}' as feature, cast({f} as double) as v from features"
            for f in model.features
        )
        sql = connection.sql(f"""
            with long_features as ({long}),
            z as (select l.person_id, l.feature, (l.v - s.feature_mean) / s.feature_scale as z
                  from long_features l join scaler s using (feature)),
            d as (select person_id, cluster_id,
                         sqrt(sum((z.z - c.centroid_value) * (z.z - c.centroid_value))) as d
                  from z join centroids c using (feature) group by all)
            select person_id, cluster_id from d
            qualify row_number() over (partition by person_id order by d, cluster_id) = 1
            order by person_id""").df()
    assert sql["cluster_id"].tolist() == python["cluster_id"].tolist()


def test_a_rerun_keeps_ids_and_names_and_a_grown_population_keeps_most_members():
    frame, truth = blob_frame(per_cluster=100)
    params = ClusterParams(**PARAMS)
    first, _ = fit_cluster_model(frame, params)
    second, summary = fit_cluster_model(frame, params, previous=first)
    assert second.cluster_ids == first.cluster_ids
    assert second.cluster_names == first.cluster_names
    assert summary["ari_vs_previous"] == 1.0 and summary["matched_cluster_count"] == 4
    extra, _ = blob_frame(per_cluster=5, seed=9)  # 5% more persons, same blobs
    extra["person_id"] = [f"q{i:04d}" for i in range(len(extra))]
    grown, grown_summary = fit_cluster_model(pd.concat([frame, extra]), params, previous=first)
    assert sorted(grown.cluster_ids) == sorted(first.cluster_ids)
    before = assign_clusters(first, frame).set_index("person_id")["cluster_id"]
    after = assign_clusters(grown, frame).set_index("person_id")["cluster_id"]
    assert (before == after).mean() > 0.99  # existing persons keep their cluster ids
    assert grown_summary["ari_vs_previous"] > 0.95


def test_a_new_cluster_gets_a_fresh_id_and_a_name_no_old_cluster_has():
    frame, _ = blob_frame(per_cluster=80)
    three = frame[frame.index < 240]  # the first three blobs only
    params = ClusterParams(**PARAMS)
    first, _ = fit_cluster_model(three, params)
    second, summary = fit_cluster_model(frame, params, previous=first)
    assert set(first.cluster_ids) < set(second.cluster_ids)
    new_id = (set(second.cluster_ids) - set(first.cluster_ids)).pop()
    assert new_id == max(first.cluster_ids) + 1 and summary["matched_cluster_count"] == 3
    assert len(set(second.cluster_names)) == 4
    for cid, name in zip(first.cluster_ids, first.cluster_names):
        assert second.cluster_names[second.cluster_ids.index(cid)] == name


def test_model_run_rows_chain_and_the_latest_model_is_used():
    frame, _ = blob_frame()
    params = ClusterParams(**PARAMS)
    first = model_run(frame, params, None, "2026-06-30")
    assert first.loc[0, "run_number"] == 1 and pd.isna(first.loc[0, "previous_run_id"])
    second = model_run(frame, params, first, "2026-07-01")
    assert second.loc[0, "previous_run_id"] == first.loc[0, "run_id"]
    assert second.loc[0, "run_id"] != first.loc[0, "run_id"]
    assert second.loc[0, "ari_vs_previous"] == 1.0
    again = model_run(frame, params, first, "2026-07-01")  # same history, same id
    assert again.loc[0, "run_id"] == second.loc[0, "run_id"]
    # the same input, settings and as_of as the latest run (a re-run of an interrupted build):
    # that run's row again, unchanged, so delete+insert by run_id leaves the log as it was
    repeat = model_run(frame, params, first, "2026-06-30")
    pd.testing.assert_frame_equal(repeat, first)
    moved = model_run(
        frame.assign(log_monetary_total=frame["log_monetary_total"] + 1),
        params,
        first,
        "2026-06-30",
    )
    assert moved.loc[0, "previous_run_id"] == first.loc[0, "run_id"]
    history = pd.concat([second, first])
    assert latest_model(history).to_json() == second.loc[0, "model_json"]


def test_small_clusters_are_merged_and_the_merge_is_recorded():
    frame, _ = blob_frame(per_cluster=60)
    outlier = pd.DataFrame(
        {
            "person_id": ["z1", "z2"],
            "log_monetary_total": [40.0, 41.0],
            "night_session_share": [40.0, 41.0],
            "mobile_session_share": [40.0, 41.0],
        }
    )
    model, summary = fit_cluster_model(
        pd.concat([frame, outlier]), ClusterParams(k_values=[5], seed=7, min_cluster_size=10)
    )
    assert summary["k_chosen"] == 5 and summary["k_final"] == 4
    assert summary["merges"] and summary["merges"][0]["size"] == 2
    assert summary["smallest_cluster_size"] >= 10


def test_params_come_from_the_rendered_meta_json():
    params = params_from_meta(
        '{"algorithm": "gmm", "features": ["a", "b"], "k_min": 3, '
        '"k_max": 5, "hierarchical_k": null, "dbscan_eps": 0.5}'
    )
    assert params.algorithm == "gmm" and params.k_values == [3, 4, 5]
    assert params.features == ["a", "b"] and params.hierarchical_k is None
    with pytest.raises(ValueError, match="cluster_algorithm"):
        params_from_meta('{"algorithm": "spectral"}')


def test_a_missing_feature_column_is_named():
    frame, _ = blob_frame()
    with pytest.raises(ValueError, match="log_order_count"):
        fit_cluster_model(frame, ClusterParams(features=["log_order_count"], **PARAMS))


def test_tiny_and_empty_inputs_still_place_every_person():
    tiny = pd.DataFrame({"person_id": ["b", "a"], "log_monetary_total": [1.0, 2.0]})
    params = ClusterParams(k_values=[3, 4], seed=1, min_cluster_size=1)
    model, summary = fit_cluster_model(tiny, params)
    assignments = assign_clusters(model, tiny)
    assert assignments["person_id"].tolist() == ["a", "b"]
    assert assignments["cluster_id"].tolist() == [0, 0] and summary["k_final"] == 1
    empty_model, empty_summary = fit_cluster_model(tiny.iloc[0:0], params)
    empty = assign_clusters(empty_model, tiny.iloc[0:0])
    assert empty.empty and list(empty.columns)[:2] == ["person_id", "cluster_id"]
    assert empty_summary["person_count"] == 0
