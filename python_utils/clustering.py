"""Clustering building blocks for the dbt Python models (pandas / scikit-learn in, pandas out).

Plain, typed, deterministic functions: the dbt Python models stay thin shells that read a
relation, call these, and return a frame. Quadratic steps (silhouette) run on a fixed-seed
sample; large inputs switch to MiniBatchKMeans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

ID_COLUMNS = ("person_id", "customer_id")


def relation_to_pandas(relation) -> pd.DataFrame:
    """A dbt.ref() result as a pandas frame with lower-case columns, on DuckDB (a DuckDB
    relation: .df()) and on Snowflake (a Snowpark frame: .to_pandas(), upper-case columns)."""
    frame = relation.to_pandas() if hasattr(relation, "to_pandas") else relation.df()
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric model inputs of a feature frame: everything but ids and is_* flags, sorted so the
    order (and therefore every fit) does not depend on the engine's column order."""
    return sorted(
        c for c in frame.columns
        if c not in ID_COLUMNS and not c.startswith("is_")
        and pd.api.types.is_numeric_dtype(frame[c])
    )


@dataclass
class Standardised:
    """A standardised matrix and the parameters that produced it (kept for SQL scoring)."""

    matrix: np.ndarray
    columns: list[str]
    means: np.ndarray
    scales: np.ndarray


def standardise(frame: pd.DataFrame, columns: list[str]) -> Standardised:
    """Z-scores per column (a constant column gets scale 1, so it contributes zeros)."""
    values = frame[columns].astype("float64").to_numpy()
    means = values.mean(axis=0)
    scales = values.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    return Standardised((values - means) / scales, list(columns), means, scales)


def validation_scores(matrix: np.ndarray, labels: np.ndarray, sample_size: int,
                      seed: int) -> dict[str, float]:
    """Silhouette (on a fixed-seed sample), Davies-Bouldin and Calinski-Harabasz."""
    if len(np.unique(labels)) < 2:
        return {"silhouette": float("nan"), "davies_bouldin": float("nan"),
                "calinski_harabasz": float("nan")}
    return {
        "silhouette": float(silhouette_score(
            matrix, labels, sample_size=min(sample_size, len(matrix)), random_state=seed)),
        "davies_bouldin": float(davies_bouldin_score(matrix, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(matrix, labels)),
    }


@dataclass
class KMeansResult:
    """The chosen k-means fit and the silhouette of every k tried."""

    k: int
    labels: np.ndarray
    centroids: np.ndarray
    scores_by_k: dict[int, float] = field(default_factory=dict)
    algorithm: str = "kmeans"


def fit_kmeans(matrix: np.ndarray, k_values: range | list[int], seed: int,
               sample_size: int = 5000, minibatch_above: int = 50_000) -> KMeansResult:
    """k-means for every k in k_values, keeping the k with the best sampled silhouette
    (ties: the smaller k). Above `minibatch_above` rows MiniBatchKMeans is used."""
    best: KMeansResult | None = None
    scores: dict[int, float] = {}
    for k in k_values:
        if k < 2 or k >= len(matrix):
            continue
        if len(matrix) > minibatch_above:
            model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3,
                                    batch_size=4096)
        else:
            model = KMeans(n_clusters=k, random_state=seed, n_init=10)
        labels = model.fit_predict(matrix)
        score = validation_scores(matrix, labels, sample_size, seed)["silhouette"]
        scores[k] = score
        if best is None or score > scores[best.k] + 1e-12:
            best = KMeansResult(k, labels, model.cluster_centers_)
    if best is None:
        raise ValueError(f"no k in {list(k_values)} fits {len(matrix)} rows")
    best.scores_by_k = scores
    best.algorithm = "minibatch_kmeans" if len(matrix) > minibatch_above else "kmeans"
    return best


def nearest_centroid(matrix: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centroid (Euclidean; ties: the lower index) and its distance."""
    distances = np.sqrt(((matrix[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2))
    labels = distances.argmin(axis=1)
    return labels, distances[np.arange(len(matrix)), labels]


def merge_small_clusters(matrix: np.ndarray, labels: np.ndarray, min_size: int
                         ) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Merge every cluster smaller than min_size into the nearest other cluster (by centroid),
    smallest first, until none is left; returns labels renumbered 0..k-1 by decreasing size
    (ties: lower old label), the centroids, and the merges made."""
    labels = labels.copy()
    merges: list[dict] = []
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) <= 1 or counts.min() >= min_size:
            break
        small = ids[np.lexsort((ids, counts))][0]
        centroids = {i: matrix[labels == i].mean(axis=0) for i in ids}
        others = [i for i in ids if i != small]
        target = min(others, key=lambda i: (np.linalg.norm(centroids[i] - centroids[small]), i))
        merges.append({"merged_cluster": int(small), "into_cluster": int(target),
                       "size": int(counts[ids == small][0])})
        labels[labels == small] = target
    ids, counts = np.unique(labels, return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    renumber = {old: new for new, old in enumerate(order)}
    labels = np.array([renumber[v] for v in labels])
    centroids = np.vstack([matrix[labels == i].mean(axis=0) for i in range(len(order))])
    return labels, centroids, merges


def match_to_previous(previous_centroids: np.ndarray, centroids: np.ndarray) -> dict[int, int]:
    """Stable labels: map each new cluster to a previous cluster id by minimum total centroid
    distance (Hungarian algorithm). New clusters without a partner get fresh ids after the
    largest previous id, in order."""
    cost = np.sqrt(((centroids[:, None, :] - previous_centroids[None, :, :]) ** 2).sum(axis=2))
    rows, cols = linear_sum_assignment(cost)
    mapping = {int(r): int(c) for r, c in zip(rows, cols)}
    next_id = len(previous_centroids)
    for cluster in range(len(centroids)):
        if cluster not in mapping:
            mapping[cluster] = next_id
            next_id += 1
    return mapping


TRAIT_NAMES = {
    "log_monetary_total": ("High-value", "Low-spend"),
    "log_order_count": ("Frequent buyers", "One-off buyers"),
    "log_recency_days": ("Lapsed", "Recent"),
    "night_session_share": ("Late-night", "Daytime"),
    "mobile_session_share": ("Mobile", "Desktop"),
    "discount_session_share": ("Bargain hunters", "Full-price"),
    "email_session_share": ("Email-driven", "Email-quiet"),
    "log_avg_engaged_seconds": ("Deep readers", "Skimmers"),
    "conversion_rate": ("Converters", "Browsers"),
    "log_session_count": ("Regulars", "Occasional visitors"),
}


def name_clusters(profiles: pd.DataFrame, max_traits: int = 2) -> dict[int, tuple[str, list[str]]]:
    """A readable, unique name per cluster from its most distinctive traits.

    `profiles` has one row per cluster (index = cluster id) and one z-score column per feature
    (cluster mean against the population). The name joins the labels of the largest |z| among
    TRAIT_NAMES; duplicates get the next trait, then a number. Returns {cluster: (name, traits)}.
    """
    named: dict[int, tuple[str, list[str]]] = {}
    used: set[str] = set()
    known = [c for c in TRAIT_NAMES if c in profiles.columns]
    for cluster in sorted(profiles.index):
        z = profiles.loc[cluster, known].astype(float)
        ranked = sorted(known, key=lambda c: (-abs(z[c]), c))
        traits = [f"{c} {'+' if z[c] >= 0 else '-'}{abs(z[c]):.1f}sd" for c in ranked]
        parts = [TRAIT_NAMES[c][0 if z[c] >= 0 else 1] for c in ranked]
        name = " ".join(parts[:max_traits]) if parts else f"Cluster {cluster}"
        extra = max_traits
        while name in used and extra < len(parts):
            name = " ".join(parts[:max_traits - 1] + [parts[extra]])
            extra += 1
        suffix = 2
        base = name
        while name in used:
            name = f"{base} {suffix}"
            suffix += 1
        used.add(name)
        named[cluster] = (name, traits[:max_traits + 1])
    return named


def cluster_assignments(features: pd.DataFrame, k_values: list[int], seed: int,
                        min_cluster_size: int, sample_size: int = 5000,
                        minibatch_above: int = 50_000) -> tuple[pd.DataFrame, dict]:
    """The default (k-means) segmentation of a customer_features frame.

    Returns one row per person (person_id, cluster_id, cluster_name, confidence,
    distance_to_centroid, pca_x, pca_y), ordered by person_id, and a summary of the run
    (k, scores of every k, validation scores, merges, features). Clusters are numbered by
    decreasing size; confidence is 1 - d_nearest / d_second_nearest (0 = on the border).
    """
    from sklearn.decomposition import PCA

    frame = features.sort_values("person_id").reset_index(drop=True)
    columns = feature_columns(frame)
    output_columns = ["person_id", "cluster_id", "cluster_name", "confidence",
                      "distance_to_centroid", "pca_x", "pca_y"]
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in output_columns}).astype(
            {"person_id": "object", "cluster_id": "int64", "cluster_name": "object"}), {
            "algorithm": "none", "k_chosen": 0, "k_after_merges": 0, "scores_by_k": {},
            "validation": {}, "merges": [], "features": columns, "traits": {}}
    scaled = standardise(frame, columns)
    usable = [k for k in k_values if 2 <= k < len(frame)]
    if usable:
        fit = fit_kmeans(scaled.matrix, usable, seed, sample_size, minibatch_above)
    else:
        # Too few persons to compare clusterings: one cluster, so every person is still placed.
        fit = KMeansResult(1, np.zeros(len(frame), dtype=int),
                           scaled.matrix.mean(axis=0, keepdims=True), {}, "single_cluster")
    labels, centroids, merges = merge_small_clusters(scaled.matrix, fit.labels, min_cluster_size)
    distances = np.sqrt(((scaled.matrix[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2))
    nearest = np.sort(distances, axis=1)
    own = distances[np.arange(len(labels)), labels]
    second = nearest[:, 1] if centroids.shape[0] > 1 else own
    confidence = np.where(second > 0, 1.0 - own / np.where(second > 0, second, 1.0), 1.0)
    if scaled.matrix.shape[1] >= 2 and len(labels) >= 2:
        coordinates = PCA(n_components=2, random_state=seed).fit_transform(scaled.matrix)
    else:
        coordinates = np.zeros((len(labels), 2))
    z_profiles = pd.DataFrame(centroids, columns=columns)
    names = name_clusters(z_profiles)
    result = pd.DataFrame({
        "person_id": frame["person_id"].astype(str),
        "cluster_id": labels.astype("int64"),
        "cluster_name": [names[int(label)][0] for label in labels],
        "confidence": np.round(np.clip(confidence, 0.0, 1.0), 6),
        "distance_to_centroid": np.round(own, 6),
        "pca_x": np.round(coordinates[:, 0], 6),
        "pca_y": np.round(coordinates[:, 1], 6),
    })
    summary = {
        "algorithm": fit.algorithm,
        "k_chosen": int(fit.k),
        "k_after_merges": int(centroids.shape[0]),
        "scores_by_k": {int(k): round(v, 6) for k, v in fit.scores_by_k.items()},
        "validation": validation_scores(scaled.matrix, labels, sample_size, seed),
        "merges": merges,
        "features": columns,
        "traits": {int(k): v[1] for k, v in names.items()},
    }
    return result, summary
