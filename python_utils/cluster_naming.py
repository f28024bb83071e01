"""Readable, stable names for clusters: each cluster is named by its most distinctive traits
(the features furthest from the population, in standard deviations), with no contradicting or
redundant labels ("Lapsed Active", "Bargain hunters Full-price"), one label per dimension of
behaviour, and "Typical customers" for a cluster without a distinctive trait."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

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
