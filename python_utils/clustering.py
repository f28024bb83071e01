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

Plain, typed, deterministic functions: inputs are sorted by person_id, samples and models use
fixed seeds. Quadratic steps (silhouette, Ward, DBSCAN) run on a fixed-seed sample; large inputs
switch to MiniBatchKMeans.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
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

ID_COLUMNS = ("person_id", "customer_id")
KMEANS_N_INIT = (
    3  # k-means++ starts per k of the search (the best inertia is kept); see docs/monitoring.md
)


def relation_to_pandas(relation) -> pd.DataFrame:
    """A dbt.ref() result as a pandas frame with lower-case columns, on DuckDB (a DuckDB
    relation: .df()) and on Snowflake (a Snowpark frame: .to_pandas(), upper-case columns)."""
    frame = relation.to_pandas() if hasattr(relation, "to_pandas") else relation.df()
    frame.columns = [str(c).lower() for c in frame.columns]
    for column in frame.columns:  # NUMBER(p, s) may arrive as decimal.Decimal objects
        if frame[column].dtype == object:
            sample = frame[column].dropna()
            if len(sample) and type(sample.iloc[0]).__name__ == "Decimal":
                frame[column] = frame[column].astype("float64")
    return frame


def own_relation(dbt, session):
    """An incremental Python model's own table (dbt.this) as a relation (not read yet), or None
    on a first or full-refresh run. Snowpark reads tables with session.table, DuckDB with a
    query."""
    if not dbt.is_incremental:
        return None
    name = str(dbt.this)
    if type(session).__module__.startswith("snowflake"):
        return session.table(name)
    return session.sql(f"select * from {name}")


def read_own_history(dbt, session) -> pd.DataFrame | None:
    """An incremental Python model's own rows so far (dbt.this), or None on a first or
    full-refresh run."""
    relation = own_relation(dbt, session)
    return None if relation is None else relation_to_pandas(relation)


def _engine_columns(relation) -> dict[str, str]:
    """Lower-case column name -> the relation's own spelling (upper-case on Snowflake)."""
    return {str(c).strip('"').lower(): str(c) for c in relation.columns}


def relation_columns(relation) -> list[str]:
    """The column names of a relation (DuckDB or Snowpark), lower-case."""
    return list(_engine_columns(relation))


def select_columns(relation, columns: list[str]):
    """Only these columns (lower-case names) of a relation, before it is read: on DuckDB a
    projection, on Snowflake a select."""
    names = _engine_columns(relation)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"relation lacks column(s) {missing}")
    if hasattr(relation, "to_pandas"):
        return relation.select([names[c] for c in columns])
    return relation.project(", ".join('"' + names[c].replace('"', '""') + '"' for c in columns))


def text_rows_where_in(relation, column: str, values: list[str], columns: list[str]):
    """The rows of a relation whose text `column` is one of `values`, with only the text
    `columns`, before it is read (a filter, then a select). Text only: Snowpark local testing
    (1.56) returns the integer columns of a filtered frame misaligned."""
    names = _engine_columns(relation)
    if hasattr(relation, "to_pandas"):
        from snowflake.snowpark.functions import col

        filtered = relation.filter(col(names[column]).isin([str(v) for v in values]))
    else:
        listed = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "null"
        filtered = relation.filter(f'"{names[column]}" in ({listed})')
    return select_columns(filtered, columns)


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


TRAIT_NAMES = {  # feature: (label when the cluster is above the population, label when below)
    "account_holder": ("Registered", "Anonymous"),
    "loyalty_level": ("Loyalty members", "Non-members"),
    "log_monetary_total": ("High-value", "Low-spend"),
    "log_order_count": ("Frequent buyers", "Rare buyers"),
    "log_recency_days": ("Lapsed", "Recent"),
    "inactive_span_share": ("Lapsed", "Active"),
    "log_days_since_last_activity": ("Dormant", "Recently active"),
    "log_tenure_days": ("Long-standing", "New"),
    "promo_day_session_share": ("Bargain hunters", "Full-price"),
    "discount_session_share": ("Bargain hunters", "Full-price"),
    "direct_session_share": ("Direct visitors", "Referred visitors"),
    "products_per_session": ("Product browsers", "Quick visitors"),
    "wishlist_adds_per_session": ("Wishlisters", "No-wishlist"),
    "blog_view_share": ("Content readers", "Shop-focused"),
    "videos_per_session": ("Video watchers", "No-video"),
    "night_session_share": ("Late-night", "Daytime"),
    "mobile_session_share": ("Mobile", "Desktop"),
    "email_open_rate": ("Email readers", "Email-ignoring"),
    "email_session_share": ("Email-driven", "Email-quiet"),
    "log_avg_engaged_seconds": ("Deep readers", "Skimmers"),
    "conversion_rate": ("Converters", "Browsers"),
    "log_session_count": ("Regulars", "Occasional visitors"),
    "age_years": ("Older", "Younger"),
}

# Features that describe the same dimension of behaviour: a name uses at most one label per
# dimension (never "Lapsed Active", "Bargain hunters Full-price" or "Frequent buyers Browsers").
TRAIT_DIMENSIONS = {
    "account": ("account_holder",),
    "loyalty": ("loyalty_level",),
    "spend": ("log_monetary_total",),
    "purchase_frequency": ("log_order_count", "conversion_rate"),
    "recency": ("log_recency_days", "inactive_span_share", "log_days_since_last_activity"),
    "tenure": ("log_tenure_days",),
    "promotions": ("promo_day_session_share", "discount_session_share"),
    "channel": ("direct_session_share",),
    "email": ("email_open_rate", "email_session_share"),
    "browsing_depth": ("products_per_session",),
    "engagement_time": ("log_avg_engaged_seconds",),
    "visit_frequency": ("log_session_count",),
    "wishlist": ("wishlist_adds_per_session",),
    "content": ("blog_view_share",),
    "video": ("videos_per_session",),
    "time_of_day": ("night_session_share",),
    "device": ("mobile_session_share",),
    "age": ("age_years",),
}

# Labels that contradict each other, also across dimensions: a name never carries both.
CONTRADICTING_LABELS = (
    # stopped vs still there (within the recency dimension, listed so the rule survives a move)
    *(
        (stopped, active)
        for stopped in ("Lapsed", "Dormant")
        for active in ("Active", "Recently active", "Recent")
    ),
    # tenure counts from the sign-up or, without one (a transactions-only shop), the first
    # activity: a short tenure means the first activity is recent, so the last one is too
    ("Lapsed", "New"),
    ("Dormant", "New"),
    # "Regulars" says they keep coming
    ("Lapsed", "Regulars"),
    ("Dormant", "Regulars"),
    # few or no orders vs what only many orders give
    ("Rare buyers", "Frequent buyers"),
    ("Rare buyers", "Converters"),
    ("Rare buyers", "High-value"),
    ("Rare buyers", "Recent"),
    ("Rare buyers", "Full-price"),
    # no account vs what only an account gives (orders, the loyalty tier, e-mails belong to one)
    ("Anonymous", "Loyalty members"),
    ("Anonymous", "Frequent buyers"),
    ("Anonymous", "High-value"),
    ("Anonymous", "Recent"),
    ("Anonymous", "Email readers"),
    # short visits vs long reading
    ("Quick visitors", "Deep readers"),
)

# Pairs where one label implies the other (or the other's feature is only imputed for such
# persons): the second label says nothing that distinguishes the cluster, so it is not used.
REDUNDANT_LABELS = (
    ("Anonymous", "Non-members"),
    ("Anonymous", "Rare buyers"),
    ("Anonymous", "Email-ignoring"),
    ("Anonymous", "Older"),
    ("Anonymous", "Younger"),  # age comes with the account
    ("Rare buyers", "Low-spend"),
    ("New", "Recently active"),
)

NAME_MIN_ABS_Z = 0.25  # a trait closer than this (in sd) to the population does not name a cluster
TYPICAL_NAME = "Typical customers"  # a cluster without any distinctive trait

_DIMENSION_OF = {
    feature: dimension for dimension, features in TRAIT_DIMENSIONS.items() for feature in features
}
_INCOMPATIBLE = frozenset(frozenset(pair) for pair in (*CONTRADICTING_LABELS, *REDUNDANT_LABELS))
_LABEL_DIMENSION = {
    label: _DIMENSION_OF.get(feature, feature)
    for feature, labels in TRAIT_NAMES.items()
    for label in labels
}


def _words(label: str) -> set[str]:
    return {w for w in re.split(r"[\s-]+", label.lower()) if w}


def labels_compatible(labels: list[str], label: str) -> bool:
    """Whether `label` may join a name made of `labels`: another dimension than each of them,
    no contradicting or redundant pair (CONTRADICTING_LABELS, REDUNDANT_LABELS) and no word in
    common ("Email readers" and "Content readers", "Rare buyers" and "Non-members")."""
    dimension = _LABEL_DIMENSION.get(label, label)
    for other in labels:
        if (
            _LABEL_DIMENSION.get(other, other) == dimension
            or frozenset((other, label)) in _INCOMPATIBLE
            or _words(other) & _words(label)
        ):
            return False
    return True


def name_labels(name: str) -> list[str]:
    """The TRAIT_NAMES labels a name is made of, left to right (longest label first at each
    word; words that are no label, e.g. a numeric suffix, are skipped)."""
    labels = sorted(
        {tuple(label.split()) for pair in TRAIT_NAMES.values() for label in pair},
        key=lambda words: (-len(words), words),
    )
    words, found, at = name.split(), [], 0
    while at < len(words):
        for label in labels:
            if tuple(words[at : at + len(label)]) == label:
                found.append(" ".join(label))
                at += len(label)
                break
        else:
            at += 1
    return found


def name_is_consistent(name: str) -> bool:
    """Whether a name (e.g. one kept from a previous run) follows the naming rules: no two
    labels of one dimension, no contradicting or redundant pair, no repeated word."""
    labels = name_labels(name)
    return all(labels_compatible(labels[:i], label) for i, label in enumerate(labels))


def _trait(feature: str, z: float) -> str:
    return f"{feature} {'+' if z >= 0 else '-'}{abs(z):.1f}sd"


def _z_of(row: pd.Series) -> dict[str, float]:
    """Finite z-scores of a profile row (a missing or NaN z is not distinctive)."""
    values = pd.to_numeric(row, errors="coerce").astype("float64")
    return {str(c): float(v) for c, v in values.items() if np.isfinite(v)}


def _z_table(profiles: pd.DataFrame) -> dict:
    """{cluster: {feature: finite z}} of a profiles frame, converted once."""
    columns = [str(c) for c in profiles.columns]
    try:
        matrix = profiles.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):  # a text or object column: what is not a number is no trait
        matrix = (
            np.column_stack(
                [
                    pd.to_numeric(profiles[c], errors="coerce").to_numpy("float64")
                    for c in profiles.columns
                ]
            )
            if columns
            else np.zeros((len(profiles), 0))
        )
    return {
        cluster: {c: float(v) for c, v in zip(columns, matrix[row]) if np.isfinite(v)}
        for row, cluster in enumerate(profiles.index)
    }


def name_traits(name: str, z: pd.Series, min_abs_z: float = NAME_MIN_ABS_Z) -> list[str]:
    """The traits behind an existing name (kept from a previous run) with today's z-scores:
    for each label of the name, the profiled features that carry it. A name without labels
    ("Typical customers") gets its explanation; a name without any TRAIT_NAMES label (a custom
    one) gets nothing."""
    values = _z_of(z)
    traits: list[str] = []
    for label in name_labels(name):
        features = sorted(
            (f for f, pair in TRAIT_NAMES.items() if label in pair and f in values),
            key=lambda f: (-abs(values[f]), f),
        )
        traits += [_trait(f, values[f]) for f in features]
    if not traits and name.startswith(TYPICAL_NAME):
        traits = [f"no trait beyond {min_abs_z:g}sd"]
    return traits


def name_clusters(
    profiles: pd.DataFrame,
    max_traits: int = 2,
    reserved: set[str] | None = None,
    min_abs_z: float = NAME_MIN_ABS_Z,
) -> dict[int, tuple[str, list[str]]]:
    """A readable, unique name per cluster from what distinguishes it from the population.

    `profiles` has one row per cluster (index = cluster id) and one z-score column per feature
    (cluster mean against the population; dropped degenerate features are simply absent).
    Candidates are the TRAIT_NAMES labels of the features with |z| >= `min_abs_z`, most
    distinctive first (ties: feature name). The name takes up to `max_traits` of them, skipping
    any that would put two labels of one dimension (TRAIT_DIMENSIONS) together, pair
    contradicting or redundant labels (CONTRADICTING_LABELS, REDUNDANT_LABELS) or repeat a word.
    A cluster without a distinctive labelled trait is TYPICAL_NAME (or "Cluster <id>" when it
    stands out only on features without labels). Duplicates, and `reserved` names (kept from the
    previous run), replace the last label (never the first, the most distinctive one) by the next
    compatible candidate, then get a number.
    Returns {cluster: (name, traits)}, traits being the features used with their z-scores."""
    named: dict[int, tuple[str, list[str]]] = {}
    used: set[str] = set(reserved or ())
    table = _z_table(profiles)
    for cluster in sorted(profiles.index):
        values = table[cluster]
        ranked = sorted(
            (f for f in values if abs(values[f]) >= min_abs_z), key=lambda f: (-abs(values[f]), f)
        )
        candidates = [
            (f, TRAIT_NAMES[f][0 if values[f] >= 0 else 1]) for f in ranked if f in TRAIT_NAMES
        ]
        chosen: list[tuple[str, str]] = []
        for candidate in candidates:
            if len(chosen) < max_traits and labels_compatible(
                [lb for _, lb in chosen], candidate[1]
            ):
                chosen.append(candidate)
        if chosen:
            name = " ".join(label for _, label in chosen)
            head = chosen[:-1]
            taken = name in used and len(chosen) == max_traits >= 2  # the first label stays
            for candidate in candidates if taken else ():  # another last label
                if candidate in chosen or not labels_compatible(
                    [lb for _, lb in head], candidate[1]
                ):
                    continue
                other = " ".join(label for _, label in [*head, candidate])
                if other not in used:
                    name, chosen = other, [*head, candidate]
                    break
            traits = [_trait(f, values[f]) for f, _ in chosen]
        elif ranked:  # distinctive only on features without labels
            name, traits = f"Cluster {cluster}", [_trait(f, values[f]) for f in ranked[:max_traits]]
        else:
            name, traits = TYPICAL_NAME, [f"no trait beyond {min_abs_z:g}sd"]
        base, suffix = name, 2
        while name in used:
            name = f"{base} {suffix}"
            suffix += 1
        used.add(name)
        named[cluster] = (name, traits)
    return named


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


def _assign_matrix(model: ClusterModel, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return _assign_matrix(previous, previous.standardise(frame))[0]


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
    final, _, _ = _assign_matrix(model, z)
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


SINGLE_THREAD_BELOW = 100_000  # persons; see _single_threaded_when_small


def _single_threaded_when_small(frame_argument: int):
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


@_single_threaded_when_small(1)
def assign_clusters(model: ClusterModel, features: pd.DataFrame) -> pd.DataFrame:
    """One row per person of a customer_features frame, ordered by person_id: cluster_id,
    cluster_name, confidence, distance_to_centroid, 2-D PCA coordinates (pca_x, pca_y) and, for
    a Gaussian mixture, every cluster's membership probability (JSON; null otherwise)."""
    frame = features.sort_values("person_id", kind="stable").reset_index(drop=True)
    z = model.standardise(frame)
    labels, confidence, distance = _assign_matrix(model, z)
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
    labels, _, _ = _assign_matrix(model, model.standardise(today))
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


@_single_threaded_when_small(0)
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
    labels = _assign_matrix(model, model.standardise(frame))[0] if len(frame) else np.zeros(0)
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


def for_engine(frame: pd.DataFrame, relation) -> pd.DataFrame:
    """Upper-case the columns on Snowflake (a Snowpark relation), where unquoted names are
    stored upper-case, and hand missing texts over as None; unchanged on DuckDB (where a typed
    string column keeps an all-null column VARCHAR)."""
    if hasattr(relation, "to_pandas"):
        frame = frame.copy()
        for column in frame.columns:  # Snowpark takes None for a missing text, not pd.NA
            # pd.NA of nullable texts, integers and booleans
            if isinstance(frame[column].dtype, pd.api.extensions.ExtensionDtype):
                frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        frame.columns = [str(c).upper() for c in frame.columns]
    return frame
