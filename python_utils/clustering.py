"""Clustering building blocks for the dbt Python models (pandas / scikit-learn in, pandas out).

Fitting and scoring are separate, so that a fitted model can be stored as a table and reused:

- `fit_cluster_model` standardises the chosen features, fits one algorithm (k-means, Gaussian
  mixture, DBSCAN or Ward hierarchical), merges clusters smaller than the minimum size, gives
  the clusters stable ids and names by matching them to the previous run's model (Hungarian
  algorithm on centroids), and returns a `ClusterModel` (JSON-serialisable) plus a run summary
  (scores of every k tried, validation scores, merges, agreement with the previous run).
- `assign_clusters` places any person with a stored model; it is what customer_clusters runs,
  and for the centroid algorithms it is the same nearest-centroid rule the SQL scoring model
  applies to the scaler and centroid tables (`model_tables`).

The names come from `cluster_naming`, the run log and the refit check that call these from
`cluster_runs`, and the engine I/O the Python models share from `engine`.

Plain, typed, deterministic functions: inputs are sorted by person_id, samples and models use
fixed seeds. Quadratic steps (silhouette, Ward, DBSCAN) run on a fixed-seed sample; large inputs
switch to MiniBatchKMeans.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)
from threadpoolctl import threadpool_limits

from python_utils.cluster_naming import (
    NAME_MIN_ABS_Z,
    name_clusters,
    name_is_consistent,
    name_traits,
)

ID_COLUMNS = ("person_id", "customer_id")
KMEANS_N_INIT = (
    3  # k-means++ starts per k of the search (the best inertia is kept); see docs/monitoring.md
)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric model inputs of a feature frame: everything but ids and is_* flags, sorted so the
    order (and therefore every fit) does not depend on the engine's column order."""
    return sorted(
        c
        for c in frame.columns
        if c not in ID_COLUMNS
        and not c.startswith("is_")
        and pd.api.types.is_numeric_dtype(frame[c])
    )


def degenerate_features(
    frame: pd.DataFrame,
    columns: list[str],
    variance_tolerance: float,
    imputed_flags: dict[str, list[str]] | None = None,
) -> dict[str, str]:
    """Features that cannot be standardised meaningfully, with the reason ({feature: reason}):

    - ``all_null``: no value at all;
    - ``all_imputed:<flag>``: every person carries the imputed value (the is_<x>_imputed flag is
      true for everyone). ``imputed_flags`` maps a flag to the features it covers
      (cluster_imputed_flags); a flag not in the map covers, by name, the features
      ``<x>_*`` and ``log_<x>_*`` (is_age_imputed: age_years);
    - ``zero_variance``: every value is the same;
    - ``near_zero_variance``: variance at most ``variance_tolerance`` x the mean square of the
      values (scale-free; a constant computed in floating point, e.g. one imputed tenure for
      everyone, has a variance of ~1e-30 relative, and a scale of 1e-15 would turn float noise
      into distances).
    An empty frame drops nothing."""
    if len(frame) == 0:
        return {}
    mapping = dict(imputed_flags or {})
    dropped: dict[str, str] = {}
    flags = sorted(
        c for c in frame.columns if str(c).startswith("is_") and str(c).endswith("_imputed")
    )
    for flag in flags:
        values = frame[flag]
        if not bool(values.notna().all()) or not bool(values.astype(bool).all()):
            continue
        stem = flag[len("is_") : -len("_imputed")]
        covered = mapping.get(flag)
        if covered is None:
            covered = [
                c for c in columns if c.startswith(f"{stem}_") or c.startswith(f"log_{stem}_")
            ]
        for column in covered:
            if column in columns and column not in dropped:
                dropped[column] = f"all_imputed:{flag}"
    for column in columns:
        if column in dropped:
            continue
        values = frame[column].astype("float64").to_numpy()
        if np.isnan(values).all():
            dropped[column] = "all_null"
            continue
        values = values[~np.isnan(values)]
        variance = float(values.var())
        mean_square = float(np.mean(values * values))
        if variance == 0.0 or np.ptp(values) == 0.0:
            dropped[column] = "zero_variance"
        elif variance <= variance_tolerance * mean_square:
            dropped[column] = "near_zero_variance"
    return {c: dropped[c] for c in columns if c in dropped}


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
    if len(values) == 0:
        return Standardised(values, list(columns), np.zeros(len(columns)), np.ones(len(columns)))
    means = values.mean(axis=0)
    scales = values.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    return Standardised((values - means) / scales, list(columns), means, scales)


def validation_scores(
    matrix: np.ndarray, labels: np.ndarray, sample_size: int, seed: int
) -> dict[str, float]:
    """Silhouette (on a fixed-seed sample), Davies-Bouldin and Calinski-Harabasz."""
    if len(np.unique(labels)) < 2:
        return {
            "silhouette": float("nan"),
            "davies_bouldin": float("nan"),
            "calinski_harabasz": float("nan"),
        }
    return {
        "silhouette": float(
            silhouette_score(
                matrix, labels, sample_size=min(sample_size, len(matrix)), random_state=seed
            )
        ),
        "davies_bouldin": float(davies_bouldin_score(matrix, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(matrix, labels)),
    }


class SampledSilhouette:
    """Silhouettes of several labellings of one matrix (a k search) on one fixed-seed sample of
    its rows, the rows `silhouette_score(sample_size=, random_state=seed)` samples: the sample's
    distance matrix (sample_size squared) is computed once instead of once per labelling, which
    was most of a k search's cost."""

    #: above this many sampled rows (a 10,000-row sample's matrix takes 800 MB) every labelling
    #: is scored by silhouette_score, which computes its distances in bounded chunks
    MAX_STORED_ROWS = 10_000

    def __init__(self, matrix: np.ndarray, sample_size: int, seed: int):
        size = min(sample_size, len(matrix))
        self.matrix, self.sample_size, self.seed = matrix, size, seed
        self.rows = np.random.RandomState(seed).permutation(len(matrix))[:size]
        self.distances = (
            pairwise_distances(matrix[self.rows]) if size <= self.MAX_STORED_ROWS else None
        )

    def score(self, labels: np.ndarray) -> float:
        """The sampled silhouette of a labelling of every row (NaN with fewer than 2 labels)."""
        if len(np.unique(labels)) < 2:
            return float("nan")
        if self.distances is None:
            return float(
                silhouette_score(
                    self.matrix, labels, sample_size=self.sample_size, random_state=self.seed
                )
            )
        return float(silhouette_score(self.distances, labels[self.rows], metric="precomputed"))


@dataclass
class KMeansResult:
    """The chosen k-means fit and the silhouette of every k tried."""

    k: int
    labels: np.ndarray
    centroids: np.ndarray
    scores_by_k: dict[int, float] = field(default_factory=dict)
    algorithm: str = "kmeans"


def fit_kmeans(
    matrix: np.ndarray,
    k_values: range | list[int],
    seed: int,
    sample_size: int = 5000,
    minibatch_above: int = 50_000,
    preferred_k: int | None = None,
    stickiness: float = 0.0,
) -> KMeansResult:
    """k-means for every k in k_values, keeping the k with the best sampled silhouette
    (ties: the smaller k). Above `minibatch_above` rows MiniBatchKMeans is used.
    `preferred_k` (the k of the model in force) is kept when its silhouette is within
    `stickiness` of the best: a sampled silhouette moves by a few thousandths between runs, and
    switching k on that noise would move persons between clusters for nothing."""
    best: KMeansResult | None = None
    scores: dict[int, float] = {}
    fits: dict[int, KMeansResult] = {}
    silhouette = SampledSilhouette(matrix, sample_size, seed)
    for k in k_values:
        if k < 2 or k >= len(matrix):
            continue
        if len(matrix) > minibatch_above:
            model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096)
        else:
            model = KMeans(n_clusters=k, random_state=seed, n_init=KMEANS_N_INIT)
        labels = model.fit_predict(matrix)
        score = silhouette.score(labels)
        scores[k] = score
        fits[k] = KMeansResult(k, labels, model.cluster_centers_)
        if best is None or score > scores[best.k] + 1e-12:
            best = fits[k]
    if best is None:
        raise ValueError(f"no k in {list(k_values)} fits {len(matrix)} rows")
    if (
        preferred_k in fits
        and preferred_k != best.k
        and scores[preferred_k] >= scores[best.k] - stickiness
    ):
        best = fits[preferred_k]
    best.scores_by_k = scores
    best.algorithm = "minibatch_kmeans" if len(matrix) > minibatch_above else "kmeans"
    return best


def squared_centroid_distances(
    matrix: np.ndarray, centroids: np.ndarray, chunk_cells: int = 20_000_000
) -> np.ndarray:
    """Squared Euclidean distance of every row to every centroid, sum((x - c)^2) over the
    features (the quantity the SQL scoring model ranks). Chunked so that no more than
    chunk_cells rows x centroids x features values (160 MB) exist at once."""
    out = np.empty((len(matrix), len(centroids)))
    chunk_rows = max(1, chunk_cells // max(1, centroids.shape[0] * max(1, matrix.shape[1])))
    for start in range(0, len(matrix), chunk_rows):
        block = matrix[start : start + chunk_rows]
        out[start : start + chunk_rows] = ((block[:, None, :] - centroids[None, :, :]) ** 2).sum(
            axis=2
        )
    return out


def centroid_distances(
    matrix: np.ndarray, centroids: np.ndarray, chunk_cells: int = 20_000_000
) -> np.ndarray:
    """Euclidean distance of every row to every centroid, sqrt(sum((x - c)^2))."""
    return np.sqrt(squared_centroid_distances(matrix, centroids, chunk_cells))


def tie_broken_nearest(squared: np.ndarray, ids: np.ndarray, tolerance: float) -> np.ndarray:
    """Row (centroid index) of the nearest centroid per person, ties broken towards the smallest
    cluster id. Two squared distances within ``tolerance * max(1, nearest)`` of the nearest are
    a tie: Python adds the squared gaps as doubles (pairwise), SQL rounds each to 12 decimals and
    adds them as exact decimals (exact_sum), so the two differ by up to ~1e-12 per feature and
    an exact tie (identical persons, duplicated features, symmetric centroids) could otherwise be
    decided differently by the last bit. The tolerance (cluster_tie_tolerance, 1e-9) is far above
    that noise and far below any real difference between distances; customer_cluster_scores
    applies the same rule, so both implementations pick the same cluster unless a squared
    distance lies within ~1e-11 of the band's edge."""
    nearest = squared.min(axis=1, keepdims=True)
    tied = squared <= nearest + tolerance * np.maximum(1.0, nearest)
    ranked_ids = np.where(tied, ids[None, :].astype("float64"), np.inf)
    return ranked_ids.argmin(axis=1)


def nearest_centroid(matrix: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centroid (Euclidean; ties: the lower index) and its distance."""
    if len(matrix) == 0 or len(centroids) == 0:
        return np.zeros(len(matrix), dtype=np.int64), np.full(len(matrix), np.inf)
    distances = centroid_distances(matrix, centroids)
    labels = distances.argmin(axis=1)
    return labels, distances[np.arange(len(matrix)), labels]


def merge_small_clusters(
    matrix: np.ndarray, labels: np.ndarray, min_size: int
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Merge every cluster smaller than min_size into the nearest other cluster (by centroid),
    smallest first, until none is left; returns labels renumbered 0..k-1 by decreasing size
    (ties: lower old label), the centroids, and the merges made. Label -1 (noise) is left
    alone and gets no centroid."""
    labels = labels.copy()
    merges: list[dict] = []
    while True:
        ids, counts = np.unique(labels[labels >= 0], return_counts=True)
        if len(ids) <= 1 or counts.min() >= min_size:
            break
        small = ids[np.lexsort((ids, counts))][0]
        centroids = {i: matrix[labels == i].mean(axis=0) for i in ids}
        others = [i for i in ids if i != small]
        target = min(others, key=lambda i: (np.linalg.norm(centroids[i] - centroids[small]), i))
        merges.append(
            {
                "merged_cluster": int(small),
                "into_cluster": int(target),
                "size": int(counts[ids == small][0]),
            }
        )
        labels[labels == small] = target
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    renumber = {old: new for new, old in enumerate(order)}
    renumber[-1] = -1
    labels = np.array([renumber[v] for v in labels], dtype=np.int64)
    centroids = (
        np.vstack([matrix[labels == i].mean(axis=0) for i in range(len(order))])
        if len(order)
        else np.zeros((0, matrix.shape[1]))
    )
    return labels, centroids, merges


def match_to_previous(
    previous_centroids: np.ndarray,
    centroids: np.ndarray,
    previous_ids: list[int] | None = None,
    max_distance: float = float("inf"),
) -> dict[int, int]:
    """Stable labels: map each new cluster to a previous cluster id by minimum total centroid
    distance (Hungarian algorithm). A pair further apart than max_distance is not a match. New
    clusters without a partner get fresh ids after the largest previous id, in order."""
    previous_ids = list(range(len(previous_centroids))) if previous_ids is None else previous_ids
    mapping: dict[int, int] = {}
    if len(previous_centroids) and len(centroids):
        cost = np.sqrt(((centroids[:, None, :] - previous_centroids[None, :, :]) ** 2).sum(axis=2))
        rows, cols = linear_sum_assignment(cost)
        mapping = {
            int(r): int(previous_ids[c]) for r, c in zip(rows, cols) if cost[r, c] <= max_distance
        }
    next_id = max(previous_ids, default=-1) + 1
    for cluster in range(len(centroids)):
        if cluster not in mapping:
            mapping[cluster] = next_id
            next_id += 1
    return mapping


ALGORITHMS = ("kmeans", "gmm", "dbscan", "hierarchical")
NOISE_ID = -1
NOISE_NAME = "Unclustered (noise)"


@dataclass
class ClusterParams:
    """Settings of one clustering run (dbt vars in the project; defaults for direct use)."""

    algorithm: str = "kmeans"
    k_values: list[int] = field(default_factory=lambda: list(range(3, 11)))
    seed: int = 7
    min_cluster_size: int = 20
    features: list[str] = field(default_factory=list)  # empty: every numeric feature column
    sample_size: int = 5000  # rows for silhouette scores and Ward linkage
    search_sample: int = 20_000  # rows used to choose k (and fit GMM / DBSCAN)
    minibatch_above: int = 50_000  # MiniBatchKMeans for the final fit above this many rows
    hierarchical_k: int | None = None  # tree cut; None: best silhouette over k_values
    gmm_covariance: str = "full"
    dbscan_eps: float | None = None  # None: quantile of the min_samples-th neighbour distance
    dbscan_eps_quantile: float = 0.5
    dbscan_min_samples: int = 10
    max_core_points: int = 5000  # DBSCAN core points kept in the stored model
    match_max_distance: float = 2.0  # Hungarian partners further apart (in sd) are new clusters
    variance_tolerance: float = 1e-12  # variance <= this x mean square: feature dropped
    tie_tolerance: float = 1e-9  # squared distances this close (relative, >= 1) are a tie
    name_min_abs_z: float = NAME_MIN_ABS_Z  # traits closer (sd) to the population name nothing
    imputed_flags: dict[str, list[str]] = field(default_factory=dict)  # is_*_imputed: features
    k_stickiness: float = 0.0  # k-means keeps the previous model's k within this silhouette

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"cluster_algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}"
            )

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class ClusterModel:
    """A fitted clustering, complete enough to place any person again (stored as JSON).

    Centroids live in the standardised space of `means` / `scales`; row i of `centroids` is
    cluster `cluster_ids[i]`. GMM keeps its components (and which cluster each one feeds);
    DBSCAN keeps a sample of core points with their cluster and eps."""

    algorithm: str
    features: list[str]
    means: list[float]
    scales: list[float]
    cluster_ids: list[int]
    cluster_names: list[str]
    cluster_traits: list[list[str]]
    centroids: list[list[float]]
    pca_mean: list[float]
    pca_components: list[list[float]]
    gmm: dict | None = None
    dbscan: dict | None = None
    dropped_features: dict[str, str] = field(default_factory=dict)  # {feature: reason}
    tie_tolerance: float = 1e-9  # nearest-centroid ties (see tie_broken_nearest)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ClusterModel:
        return cls(**json.loads(text))

    def standardise(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise ValueError(f"customer_features lacks the model's feature column(s) {missing}")
        values = frame[self.features].astype("float64").to_numpy()
        return (values - np.array(self.means)) / np.array(self.scales)

    def name_of(self) -> dict[int, str]:
        return {**dict(zip(self.cluster_ids, self.cluster_names)), NOISE_ID: NOISE_NAME}


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a fixed-seed sample of at most `size` of n rows (all rows if n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def input_hash(frame: pd.DataFrame, columns: list[str]) -> str:
    """A fingerprint of the model input (person ids and features, in person order)."""
    digest = hashlib.sha256()
    digest.update(frame["person_id"].astype(str).str.cat(sep="\n").encode())
    digest.update(np.ascontiguousarray(frame[columns].astype("float64").to_numpy()).tobytes())
    return digest.hexdigest()[:16]


@dataclass
class _Partition:
    """What an algorithm found: labels 0..k-1 (-1 = noise) on the full matrix, plus extras."""

    labels: np.ndarray
    k_chosen: int
    scores_by_k: dict[int, float]
    score_name: str
    algorithm: str
    extra: dict = field(default_factory=dict)


def _fit_kmeans_partition(
    z: np.ndarray, p: ClusterParams, preferred_k: int | None = None
) -> _Partition:
    search = z[sample_rows(len(z), p.search_sample, p.seed)]
    found = fit_kmeans(
        search, p.k_values, p.seed, p.sample_size, p.minibatch_above, preferred_k, p.k_stickiness
    )
    centroids = found.centroids
    algorithm = "kmeans"
    if len(search) < len(z):  # the k search ran on a sample: refit every row from its centroids
        if len(z) > p.minibatch_above:
            model = MiniBatchKMeans(
                n_clusters=found.k, init=centroids, n_init=1, random_state=p.seed, batch_size=4096
            )
            algorithm = "minibatch_kmeans"
        else:
            model = KMeans(n_clusters=found.k, init=centroids, n_init=1, random_state=p.seed)
        centroids = model.fit(z).cluster_centers_
    labels, _ = nearest_centroid(z, centroids)
    return _Partition(labels, found.k, found.scores_by_k, "silhouette", algorithm)


def _fit_gmm_partition(z: np.ndarray, p: ClusterParams) -> _Partition:
    from sklearn.mixture import GaussianMixture

    search = z[sample_rows(len(z), p.search_sample, p.seed)]
    best, scores = None, {}
    for k in p.k_values:
        if k < 1 or k >= len(search):
            continue
        mixture = GaussianMixture(
            n_components=k,
            covariance_type=p.gmm_covariance,
            random_state=p.seed,
            n_init=2,
            reg_covar=1e-4,
        )
        mixture.fit(search)
        scores[k] = float(mixture.bic(search))
        if best is None or scores[k] < scores[best.n_components] - 1e-9:
            best = mixture
    if best is None:
        raise ValueError(f"no k in {list(p.k_values)} fits {len(search)} rows")
    components = best.predict(z)
    return _Partition(components, best.n_components, scores, "bic", "gmm", {"mixture": best})


def _fit_hierarchical_partition(z: np.ndarray, p: ClusterParams) -> _Partition:
    from scipy.cluster.hierarchy import fcluster, linkage

    sample = z[sample_rows(len(z), p.sample_size, p.seed)]
    tree = linkage(sample, method="ward")
    cuts = [p.hierarchical_k] if p.hierarchical_k else list(p.k_values)
    scores, best_k, best_labels = {}, None, None
    silhouette = SampledSilhouette(sample, p.sample_size, p.seed)
    for k in cuts:
        if k < 2 or k >= len(sample):
            continue
        labels = fcluster(tree, t=k, criterion="maxclust") - 1
        scores[k] = silhouette.score(labels)
        if best_k is None or scores[k] > scores[best_k] + 1e-12:
            best_k, best_labels = k, labels
    if best_k is None:
        raise ValueError(f"no tree cut in {cuts} fits {len(sample)} rows")
    centroids = np.vstack([sample[best_labels == i].mean(axis=0) for i in np.unique(best_labels)])
    labels, _ = nearest_centroid(z, centroids)  # the rest (and the sample) by nearest centroid
    return _Partition(labels, best_k, scores, "silhouette", "hierarchical")


def _fit_dbscan_partition(z: np.ndarray, p: ClusterParams) -> _Partition:
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    search = z[sample_rows(len(z), p.sample_size, p.seed)]  # neighbourhoods grow quadratically
    min_samples = max(2, min(p.dbscan_min_samples, len(search) - 1))
    eps = p.dbscan_eps
    if eps is None:
        neighbours = NearestNeighbors(n_neighbors=min_samples).fit(search)
        kth = neighbours.kneighbors(search)[0][:, -1]
        eps = float(np.quantile(kth, p.dbscan_eps_quantile))
    eps = max(float(eps), 1e-9)
    fitted = DBSCAN(eps=eps, min_samples=min_samples).fit(search)
    core_index = fitted.core_sample_indices_
    core_points, core_labels = search[core_index], fitted.labels_[core_index]
    labels, _ = _nearest_core(z, core_points, core_labels, eps)
    found = len(np.unique(fitted.labels_[fitted.labels_ >= 0]))
    noise_share = float((fitted.labels_ < 0).mean()) if len(search) else 0.0
    return _Partition(
        labels,
        found,
        {},
        "none",
        "dbscan",
        {
            "eps": eps,
            "min_samples": min_samples,
            "sample_noise_share": noise_share,
            "core_points": core_points,
            "core_labels": core_labels,
        },
    )


def _nearest_core(
    z: np.ndarray, core_points: np.ndarray, core_labels: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN placement: the cluster of the nearest core point within eps, else noise (-1);
    and the distance to that core point."""
    if len(core_points) == 0:
        return np.full(len(z), NOISE_ID, dtype=np.int64), np.full(len(z), np.inf)
    index, distance = nearest_centroid(z, core_points)
    return np.where(distance <= eps, core_labels[index], NOISE_ID).astype(np.int64), distance


FITTERS = {
    "kmeans": _fit_kmeans_partition,
    "gmm": _fit_gmm_partition,
    "dbscan": _fit_dbscan_partition,
    "hierarchical": _fit_hierarchical_partition,
}


def _settle_centroids(
    z: np.ndarray, labels: np.ndarray, min_size: int, rounds: int = 10
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Merge small clusters, then place every row at its nearest centroid, until the partition
    is stable (the stored centroids then reproduce it exactly) or `rounds` is spent."""
    merges: list[dict] = []
    centroids = np.zeros((0, z.shape[1]))
    for _ in range(rounds):
        labels, centroids, merged = merge_small_clusters(z, labels, min_size)
        merges.extend(merged)
        placed, _ = nearest_centroid(z, centroids)
        if np.array_equal(placed, labels):
            break
        labels = placed
    return labels, centroids, merges


def _component_clusters(mixture, components: np.ndarray, labels: np.ndarray) -> list[int]:
    """For a merged GMM: the final cluster each component feeds (unused components go to the
    cluster of the nearest used component mean)."""
    mapping: dict[int, int] = {}
    for c in range(mixture.n_components):
        members = labels[components == c]
        if len(members):
            mapping[c] = int(members[0])
    used = sorted(mapping)
    for c in range(mixture.n_components):
        if c not in mapping:
            nearest = min(
                used, key=lambda u: (np.linalg.norm(mixture.means_[u] - mixture.means_[c]), u)
            )
            mapping[c] = mapping[nearest]
    return [mapping[c] for c in range(mixture.n_components)]


def _mixture_from(model: ClusterModel):
    from sklearn.mixture import GaussianMixture

    g = model.gmm
    mixture = GaussianMixture(n_components=len(g["weights"]), covariance_type=g["covariance_type"])
    mixture.weights_ = np.array(g["weights"])
    mixture.means_ = np.array(g["means"])
    mixture.precisions_cholesky_ = np.array(g["precisions_cholesky"])
    mixture.n_features_in_ = mixture.means_.shape[1]
    return mixture


def assign_matrix(model: ClusterModel, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster id, confidence, distance to the cluster centroid) per row of a standardised
    matrix. Centroid algorithms: nearest centroid (ties: lower row), confidence 1 - nearest /
    second-nearest distance. GMM: the cluster with the highest summed posterior, confidence =
    that posterior. DBSCAN: nearest stored core point within eps, else noise (-1)."""
    ids = np.array(model.cluster_ids, dtype=np.int64)
    centroids = np.array(model.centroids, dtype="float64").reshape(len(ids), len(model.features))
    if len(z) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    if len(ids) == 0:
        return np.full(len(z), NOISE_ID, dtype=np.int64), np.zeros(len(z)), np.zeros(len(z))
    squared = squared_centroid_distances(z, centroids)
    distances = np.sqrt(squared)
    if model.algorithm == "gmm":
        posterior = _mixture_from(model).predict_proba(z)
        feeds = np.array(model.gmm["component_cluster"])
        by_cluster = np.zeros((len(z), len(ids)))
        for component, row in enumerate(feeds):
            by_cluster[:, row] += posterior[:, component]
        rows = by_cluster.argmax(axis=1)
        confidence = by_cluster[np.arange(len(z)), rows]
    elif model.algorithm == "dbscan":
        d = model.dbscan
        core_rows, core_distance = _nearest_core(
            z,
            np.array(d["core_points"]).reshape(-1, len(model.features)),
            np.array(d["core_rows"], dtype=np.int64),
            d["eps"],
        )
        noise = core_rows == NOISE_ID
        rows = np.where(noise, 0, core_rows)
        own = distances[np.arange(len(z)), rows]
        labels = np.where(noise, NOISE_ID, ids[rows])
        confidence = np.where(noise, 0.0, np.clip(1.0 - core_distance / d["eps"], 0.0, 1.0))
        return labels, confidence, np.where(noise, np.nan, own)
    else:
        rows = tie_broken_nearest(squared, ids, model.tie_tolerance)
        ordered = np.sort(distances, axis=1)
        second = ordered[:, 1] if len(ids) > 1 else ordered[:, 0]
        own_d = ordered[:, 0]
        confidence = np.where(second > 0, 1.0 - own_d / np.where(second > 0, second, 1.0), 1.0)
    own = distances[np.arange(len(z)), rows]
    return ids[rows], np.clip(confidence, 0.0, 1.0), own


def _previous_labels(previous: ClusterModel | None, frame: pd.DataFrame) -> np.ndarray | None:
    if previous is None or any(c not in frame.columns for c in previous.features):
        return None
    return assign_matrix(previous, previous.standardise(frame))[0]


def _previous_centroids(
    previous: ClusterModel, model_means: np.ndarray, model_scales: np.ndarray, features: list[str]
) -> np.ndarray | None:
    """The previous model's centroids expressed in this run's standardised space."""
    if previous is None or previous.features != features or not previous.cluster_ids:
        return None
    raw = np.array(previous.centroids) * np.array(previous.scales) + np.array(previous.means)
    return (raw - model_means) / model_scales


def fit_cluster_model(
    features: pd.DataFrame, params: ClusterParams, previous: ClusterModel | None = None
) -> tuple[ClusterModel, dict]:
    """Fit one clustering of a customer_features frame and describe the run.

    Returns the model and a summary: algorithm, k chosen, scores of every k tried (silhouette
    or BIC), validation scores of the final assignment, merges, cluster sizes, and, when a
    previous model is given, how many clusters kept their id and the adjusted Rand index between
    the previous model's and this model's assignment of today's persons."""
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score

    frame = features.sort_values("person_id", kind="stable").reset_index(drop=True)
    columns = list(params.features) or feature_columns(frame)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"cluster_features names column(s) missing from customer_features: {missing}"
        )
    dropped = degenerate_features(frame, columns, params.variance_tolerance, params.imputed_flags)
    requested = columns
    columns = [c for c in requested if c not in dropped]  # the scaler stores exactly these
    scaled = standardise(frame, columns)
    z = scaled.matrix
    usable = [k for k in params.k_values if 2 <= k < len(frame)]
    extra: dict = {}
    if columns and usable and len(frame) >= max(2 * params.min_cluster_size, 3):
        run_params = ClusterParams(**{**asdict(params), "k_values": usable})
        if params.algorithm == "kmeans":  # the k in force is kept unless clearly beaten
            in_force = (
                len(previous.centroids)
                if previous is not None and previous.algorithm in ("kmeans", "minibatch_kmeans")
                else None
            )
            partition = _fit_kmeans_partition(z, run_params, in_force)
        else:
            partition = FITTERS[params.algorithm](z, run_params)
        extra = partition.extra
    else:  # too few persons to compare clusterings: one cluster, every person still placed
        partition = _Partition(
            np.zeros(len(frame), dtype=np.int64), 1, {}, "none", "single_cluster"
        )
    algorithm = partition.algorithm
    if algorithm in ("kmeans", "minibatch_kmeans", "hierarchical", "single_cluster"):
        labels, centroids, merges = _settle_centroids(z, partition.labels, params.min_cluster_size)
    else:
        labels, centroids, merges = merge_small_clusters(
            z, partition.labels, params.min_cluster_size
        )
    # Stable ids and names: match to the previous run's centroids.
    prev_centroids = _previous_centroids(previous, scaled.means, scaled.scales, columns)
    if prev_centroids is not None:
        mapping = match_to_previous(
            prev_centroids, centroids, previous.cluster_ids, params.match_max_distance
        )
    else:
        mapping = {i: i for i in range(len(centroids))}
    order = sorted(range(len(centroids)), key=lambda i: mapping[i])
    kept = {}
    if prev_centroids is not None:
        previous_names = dict(zip(previous.cluster_ids, previous.cluster_names))
        kept = {i: previous_names[mapping[i]] for i in order if mapping[i] in previous_names}
    # A matched cluster keeps its name unless the name breaks the naming rules (e.g. "Lapsed
    # New" from a version before them): that one is named afresh, its id stays.
    names = {i: name for i, name in kept.items() if name and name_is_consistent(name)}
    profiles = pd.DataFrame(centroids, columns=columns)
    fresh = name_clusters(
        profiles.loc[[i for i in order if i not in names]],
        reserved=set(names.values()),
        min_abs_z=params.name_min_abs_z,
    )
    traits = {
        i: name_traits(names[i], profiles.loc[i], params.name_min_abs_z)
        or name_clusters(profiles.loc[[i]], min_abs_z=params.name_min_abs_z)[i][1]
        for i in names
    }  # a name of no labels (a custom one): today's traits
    names.update({i: name for i, (name, _) in fresh.items()})
    traits.update({i: explained for i, (_, explained) in fresh.items()})
    gmm = dbscan = None
    if algorithm == "gmm":
        mixture = extra["mixture"]
        gmm = {
            "weights": mixture.weights_.tolist(),
            "means": mixture.means_.tolist(),
            "precisions_cholesky": mixture.precisions_cholesky_.tolist(),
            "covariance_type": mixture.covariance_type,
            "component_cluster": [
                order.index(row) for row in _component_clusters(mixture, partition.labels, labels)
            ],
        }
    if algorithm == "dbscan":
        core_final = _core_final_rows(extra["core_labels"], partition.labels, labels)
        keep = core_final >= 0
        points, rows = extra["core_points"][keep], core_final[keep]
        chosen = sample_rows(len(points), params.max_core_points, params.seed)
        dbscan = {
            "eps": extra["eps"],
            "min_samples": extra["min_samples"],
            "core_points": points[chosen].tolist(),
            "core_rows": [order.index(int(r)) for r in rows[chosen]],
        }
    pca_sample = z[sample_rows(len(z), params.search_sample, params.seed)]
    if z.shape[1] >= 2 and len(pca_sample) >= 2:
        pca = PCA(n_components=2, random_state=params.seed).fit(pca_sample)
        pca_mean, pca_components = pca.mean_.tolist(), pca.components_.tolist()
    else:
        pca_mean, pca_components = [0.0] * z.shape[1], np.zeros((2, z.shape[1])).tolist()
    model = ClusterModel(
        algorithm=algorithm,
        features=columns,
        means=scaled.means.tolist(),
        scales=scaled.scales.tolist(),
        cluster_ids=[mapping[i] for i in order],
        cluster_names=[names[i] for i in order],
        cluster_traits=[traits[i] for i in order],
        centroids=centroids[order].tolist() if len(order) else [],
        pca_mean=pca_mean,
        pca_components=pca_components,
        gmm=gmm,
        dbscan=dbscan,
        dropped_features=dropped,
        tie_tolerance=float(params.tie_tolerance),
    )
    final, _, _ = assign_matrix(model, z)
    clustered = final >= 0
    validation = validation_scores(z[clustered], final[clustered], params.sample_size, params.seed)
    sizes = pd.Series(final[clustered]).value_counts()
    prev_labels = _previous_labels(previous, frame)
    summary = {
        "algorithm": algorithm,
        "person_count": int(len(frame)),
        "features": columns,
        "dropped_features": dropped,
        "input_hash": input_hash(frame, requested),
        "params_hash": params.digest(),
        "k_chosen": int(partition.k_chosen),
        "k_final": int(len(model.cluster_ids)),
        "score_name": partition.score_name,
        "scores_by_k": {int(k): round(float(v), 6) for k, v in partition.scores_by_k.items()},
        "validation": {k: (round(v, 6) if v == v else None) for k, v in validation.items()},
        "merges": merges,
        "smallest_cluster_size": int(sizes.min()) if len(sizes) else 0,
        "noise_share": round(float((final < 0).mean()), 6) if len(final) else 0.0,
        "matched_cluster_count": int(len(kept)),
        "ari_vs_previous": (
            round(float(adjusted_rand_score(prev_labels, final)), 6)
            if prev_labels is not None and len(final)
            else None
        ),
        "dbscan_eps": round(extra["eps"], 6) if algorithm == "dbscan" else None,
    }
    return model, summary


def _core_final_rows(
    core_labels: np.ndarray, partition_labels: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Final cluster (row of the merged centroids) of every DBSCAN core point: merges map whole
    clusters, so any full-matrix member of the core point's raw cluster tells (-1: no member)."""
    final = {}
    for raw in np.unique(core_labels):
        members = labels[partition_labels == raw]
        final[int(raw)] = int(members[0]) if len(members) else NOISE_ID
    return np.array([final[int(r)] for r in core_labels], dtype=np.int64)


SINGLE_THREAD_BELOW = 100_000  # persons; see single_threaded_when_small


def single_threaded_when_small(frame_argument: int):
    """One OpenMP / BLAS thread while the frame in positional argument `frame_argument` has
    fewer than SINGLE_THREAD_BELOW rows: on a few thousand persons k-means and the distance
    computations spend more on starting and waiting for threads than they save (11-15 s instead
    of 0.5 s for 760 persons on a busy 2-core machine). The results do not depend on the count."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            rows = len(args[frame_argument]) if len(args) > frame_argument else None
            limits = 1 if rows is not None and rows < SINGLE_THREAD_BELOW else None
            with threadpool_limits(limits=limits):
                return function(*args, **kwargs)

        return wrapper

    return decorate


@single_threaded_when_small(1)
def assign_clusters(model: ClusterModel, features: pd.DataFrame) -> pd.DataFrame:
    """One row per person of a customer_features frame, ordered by person_id: cluster_id,
    cluster_name, confidence, distance_to_centroid, 2-D PCA coordinates (pca_x, pca_y) and, for
    a Gaussian mixture, every cluster's membership probability (JSON; null otherwise)."""
    frame = features.sort_values("person_id", kind="stable").reset_index(drop=True)
    z = model.standardise(frame)
    labels, confidence, distance = assign_matrix(model, z)
    probabilities = pd.Series([None] * len(z), dtype="string")
    if model.algorithm == "gmm" and len(z):
        probabilities = pd.Series(_soft_memberships(model, z), dtype="string")
    names = model.name_of()
    components = np.array(model.pca_components).reshape(2, len(model.features))
    coordinates = (z - np.array(model.pca_mean)) @ components.T if len(z) else np.zeros((0, 2))
    return pd.DataFrame(
        {
            "person_id": frame["person_id"].astype(str),
            "cluster_id": labels.astype("int64"),
            "cluster_name": [names[int(label)] for label in labels],
            "confidence": np.round(confidence, 6),
            "distance_to_centroid": np.round(distance, 6),
            "pca_x": np.round(coordinates[:, 0], 6),
            "pca_y": np.round(coordinates[:, 1], 6),
            "cluster_probabilities": probabilities,
        }
    )


def _soft_memberships(model: ClusterModel, z: np.ndarray) -> list[str]:
    """GMM soft membership: every cluster's posterior probability, as JSON {cluster_id: p}."""
    posterior = _mixture_from(model).predict_proba(z)
    by_cluster = np.zeros((len(z), len(model.cluster_ids)))
    for component, row in enumerate(model.gmm["component_cluster"]):
        by_cluster[:, row] += posterior[:, component]
    ids = [str(i) for i in model.cluster_ids]
    return [json.dumps(dict(zip(ids, np.round(row, 4).tolist()))) for row in by_cluster]


def model_tables(model: ClusterModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored model as two tables for SQL scoring: the scaler (feature, feature_mean,
    feature_scale) and the centroids (cluster_id, cluster_name, cluster_traits, feature,
    centroid_value, in standardised units). Values are the exact doubles the Python assignment uses.
    The scaler holds exactly the features the model standardises (dropped degenerate features
    are absent); a model without any feature gives one centroid row per cluster with a null
    feature (centroid_value 0), so SQL still knows the clusters."""
    scaler = pd.DataFrame(
        {
            "feature": pd.Series(model.features, dtype="string"),  # typed if empty
            "feature_mean": np.array(model.means, dtype="float64"),
            "feature_scale": np.array(model.scales, dtype="float64"),
        }
    )
    rows = [
        (cid, name, ", ".join(traits), feature, float(value))
        for cid, name, traits, centroid in zip(
            model.cluster_ids, model.cluster_names, model.cluster_traits, model.centroids
        )
        for feature, value in zip(model.features, centroid)
    ]
    if not model.features:  # every feature was dropped: one row per cluster, feature null
        rows = [
            (cid, name, ", ".join(traits), None, 0.0)
            for cid, name, traits in zip(
                model.cluster_ids, model.cluster_names, model.cluster_traits
            )
        ]
    centroids = pd.DataFrame(
        rows, columns=["cluster_id", "cluster_name", "cluster_traits", "feature", "centroid_value"]
    ).astype({"cluster_id": "int64", "feature": "string", "centroid_value": "float64"})
    return scaler, centroids
