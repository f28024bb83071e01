"""Cluster names (python_utils.cluster_naming.name_clusters): no contradicting or redundant traits,
one label per dimension, no repeated word, only distinctive traits, unique and deterministic;
property checks over many random z-score profiles plus the cases users ran into."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from python_utils.cluster_naming import (
    CONTRADICTING_LABELS,
    NAME_MIN_ABS_Z,
    REDUNDANT_LABELS,
    TRAIT_DIMENSIONS,
    TRAIT_NAMES,
    TYPICAL_NAME,
    name_clusters,
    name_is_consistent,
    name_labels,
    name_traits,
)
from python_utils.clustering import ClusterModel, ClusterParams, assign_clusters, fit_cluster_model

FEATURES = sorted(TRAIT_NAMES)
DIMENSION = {f: d for d, features in TRAIT_DIMENSIONS.items() for f in features}
LABEL_DIMENSION = {label: DIMENSION[f] for f, pair in TRAIT_NAMES.items() for label in pair}
FORBIDDEN = {frozenset(pair) for pair in (*CONTRADICTING_LABELS, *REDUNDANT_LABELS)}


def words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s-]+", name.lower()) if w]


def check_name(
    name: str, traits: list[str], z: pd.Series, max_traits: int, min_abs_z: float
) -> None:
    """Every rule a single name must follow."""
    labels = name_labels(name)
    assert len(labels) <= max_traits, name
    dimensions = [LABEL_DIMENSION[label] for label in labels]
    assert len(set(dimensions)) == len(dimensions), (name, dimensions)
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert frozenset((a, b)) not in FORBIDDEN, (name, a, b)
    assert len(set(words(name))) == len(words(name)), name
    if labels:  # the traits list is what the name is made of, each distinctive
        assert len(traits) == len(labels), (name, traits)
        for label, trait in zip(labels, traits):
            feature, value = trait.split(" ")
            z_value = float(z[feature])
            assert abs(z_value) >= min_abs_z, (name, trait)
            assert TRAIT_NAMES[feature][0 if z_value >= 0 else 1] == label, (name, trait)
            assert value == f"{'+' if z_value >= 0 else '-'}{abs(z_value):.1f}sd"
    labelled = {f: float(z[f]) for f in z.index if f in TRAIT_NAMES and np.isfinite(z[f])}
    distinctive = [f for f in labelled if abs(labelled[f]) >= min_abs_z]
    if not distinctive:
        assert name.startswith(TYPICAL_NAME) or name.startswith("Cluster "), name
    else:  # the most distinctive trait always leads
        top = min(distinctive, key=lambda f: (-abs(labelled[f]), f))
        assert labels and labels[0] == TRAIT_NAMES[top][0 if labelled[top] >= 0 else 1], name
        if len(labels) < max_traits:  # nothing compatible was left out
            for f in distinctive:
                label = TRAIT_NAMES[f][0 if labelled[f] >= 0 else 1]
                if label in labels:
                    continue
                assert (
                    LABEL_DIMENSION[label] in dimensions
                    or any(frozenset((label, other)) in FORBIDDEN for other in labels)
                    or set(words(label)) & set(words(" ".join(labels)))
                ), (name, label)


def random_profiles(rng: np.random.Generator) -> pd.DataFrame:
    """k clusters over a random subset of the labelled features (the others dropped, as
    degenerate features are), z-scores of mixed spread, some near zero, now and then an
    unlabelled feature or a NaN."""
    k = int(rng.integers(1, 11))
    features = sorted(
        rng.choice(FEATURES, size=int(rng.integers(0, len(FEATURES) + 1)), replace=False).tolist()
    )
    spread = rng.choice([0.1, 0.5, 1.0, 2.0])
    z = rng.normal(0, spread, size=(k, len(features)))
    z[rng.random(z.shape) < 0.3] *= 0.05  # many traits close to the population
    profiles = pd.DataFrame(z, columns=features, index=rng.permutation(20)[:k])
    if rng.random() < 0.2:
        profiles["interest_tech"] = rng.normal(0, 1, k)  # a feature without labels
    if rng.random() < 0.1 and features:
        profiles.iloc[0, 0] = np.nan
    return profiles


@pytest.mark.parametrize("max_traits", [1, 2, 3])
def test_random_profiles_never_break_a_naming_rule(max_traits):
    rng = np.random.default_rng(20260701 + max_traits)
    for _ in range(400):
        profiles = random_profiles(rng)
        min_abs_z = float(rng.choice([NAME_MIN_ABS_Z, 0.0, 0.5]))
        reserved = set()
        if rng.random() < 0.3:  # names kept from a previous run
            previous = name_clusters(random_profiles(rng), max_traits, min_abs_z=min_abs_z)
            reserved = {name for name, _ in previous.values()}
        named = name_clusters(profiles, max_traits, reserved, min_abs_z=min_abs_z)
        assert sorted(named) == sorted(profiles.index)
        names = [name for name, _ in named.values()]
        assert len(set(names)) == len(names) and not set(names) & reserved
        for cluster, (name, traits) in named.items():
            check_name(name, traits, profiles.loc[cluster], max_traits, min_abs_z)
            assert name_is_consistent(name)
        # deterministic, whatever the row and column order
        assert name_clusters(profiles, max_traits, reserved, min_abs_z=min_abs_z) == named
        shuffled = profiles.sample(frac=1.0, random_state=1)
        shuffled = shuffled[sorted(shuffled.columns, reverse=True)]
        assert name_clusters(shuffled, max_traits, reserved, min_abs_z=min_abs_z) == named


def test_the_rule_tables_are_consistent():
    placed = [f for features in TRAIT_DIMENSIONS.values() for f in features]
    assert sorted(placed) == FEATURES  # every labelled feature in exactly one dimension
    labels = {label for pair in TRAIT_NAMES.values() for label in pair}
    for pair in (*CONTRADICTING_LABELS, *REDUNDANT_LABELS):
        assert set(pair) <= labels and pair[0] != pair[1], pair
    for feature, (above, below) in TRAIT_NAMES.items():  # a label names one dimension only
        assert {LABEL_DIMENSION[above], LABEL_DIMENSION[below]} == {DIMENSION[feature]}
    assert name_labels("Recently active Lapsed 2") == ["Recently active", "Lapsed"]
    assert name_labels("Rare buyers Frequent buyers") == ["Rare buyers", "Frequent buyers"]


def transactions_only_profiles() -> pd.DataFrame:
    """Centroids like the ones of a shop with orders and a CRM but no web events: tenure from
    the sign-up, activity from the orders; a single order makes inactive_span_share 1."""
    return pd.DataFrame(
        {
            "inactive_span_share": [1.4, -1.0, 0.2],
            "log_tenure_days": [-1.2, -1.3, 1.1],
            "log_days_since_last_activity": [-0.2, -0.6, 0.9],
            "log_order_count": [-0.9, 0.8, 0.1],
            "log_monetary_total": [-0.7, 0.6, 0.1],
            "promo_day_session_share": [0.1, 0.3, -0.4],
        },
        index=[0, 1, 2],
    )


def test_no_lapsed_new_on_a_transactions_only_shop():
    """The names a user got were "Lapsed New" (one-order new customers: short tenure, and the
    single order is also the last one) and "New Active"."""
    named = name_clusters(transactions_only_profiles())
    assert named[0][0] == "Lapsed Rare buyers"  # "New" contradicts "Lapsed": the next trait
    assert named[0][1] == ["inactive_span_share +1.4sd", "log_order_count -0.9sd"]
    assert named[1][0] == "New Active"  # new customers who came back: no contradiction
    assert named[2][0] == "Long-standing Dormant"
    assert not name_is_consistent("Lapsed New") and not name_is_consistent("New Dormant")
    assert name_is_consistent("New Active")


@pytest.mark.parametrize(
    "profile, banned",
    [
        (
            {"inactive_span_share": -1.0, "log_days_since_last_activity": -0.9, "age_years": 0.4},
            "Active Recently active",
        ),
        (
            {"email_open_rate": 1.2, "blog_view_share": 1.1, "night_session_share": 0.5},
            "Email readers Content readers",
        ),
        (
            {"log_days_since_last_activity": 1.3, "log_session_count": 1.2, "age_years": 0.4},
            "Dormant Regulars",
        ),
        (
            {"log_order_count": -1.5, "log_monetary_total": 1.0, "age_years": 0.4},
            "Rare buyers High-value",
        ),
        (
            {
                "account_holder": -1.4,
                "loyalty_level": -1.0,
                "log_order_count": -0.9,
                "night_session_share": 0.6,
            },
            "Anonymous Non-members",
        ),
        (
            {"promo_day_session_share": 1.5, "discount_session_share": 1.4, "age_years": -0.5},
            "Bargain hunters Bargain hunters",
        ),
    ],
)
def test_a_contradicting_redundant_or_repeating_pair_gives_way_to_the_next_trait(profile, banned):
    named = name_clusters(pd.DataFrame([profile], index=[0]))
    name, traits = named[0]
    assert name != banned and name.split()[0] == banned.split()[0]
    assert len(name_labels(name)) == 2  # the next compatible trait took the second place
    check_name(name, traits, pd.Series(profile), 2, NAME_MIN_ABS_Z)


def test_only_distinctive_traits_name_a_cluster():
    profiles = pd.DataFrame(
        {
            "night_session_share": [0.2, -0.1, 1.5, 0.1],
            "mobile_session_share": [0.1, 0.2, 0.1, -0.2],
            "interest_tech": [0.0, 0.0, 0.0, 2.0],
        },
        index=[0, 1, 2, 3],
    )
    named = name_clusters(profiles)
    assert named[0] == (TYPICAL_NAME, ["no trait beyond 0.25sd"])
    assert named[1][0] == f"{TYPICAL_NAME} 2"
    assert named[2] == ("Late-night", ["night_session_share +1.5sd"])  # mobile +0.1: no trait
    assert named[3] == ("Cluster 3", ["interest_tech +2.0sd"])  # only an unlabelled feature
    looser = name_clusters(profiles, min_abs_z=0.05)
    assert looser[0][0] == "Late-night Mobile"
    assert name_clusters(pd.DataFrame(index=[0, 1])) == {  # every feature dropped
        0: (TYPICAL_NAME, ["no trait beyond 0.25sd"]),
        1: (f"{TYPICAL_NAME} 2", ["no trait beyond 0.25sd"]),
    }


def test_a_taken_name_takes_the_next_compatible_trait_then_a_number():
    profiles = pd.DataFrame(
        {
            "log_tenure_days": [-1.5, -1.4, -1.3],
            "inactive_span_share": [-1.0, -1.0, -1.0],
            "log_days_since_last_activity": [-0.9, 1.0, -0.8],
            "age_years": [0.0, 0.0, 0.6],
        },
        index=[0, 1, 2],
    )
    named = name_clusters(profiles, reserved={"New Active"})
    # 0: "New Active" is taken and every other trait conflicts with "New": a number
    assert named[0][0] == "New Active 2"
    # 1: "Dormant" contradicts "New" and "Active" is the same dimension as "Dormant"
    assert named[1][0] == "New Active 3"
    assert named[2][0] == "New Older"  # the next compatible trait replaces the taken one
    assert named[2][1] == ["log_tenure_days -1.3sd", "age_years +0.6sd"]


def test_traits_of_a_kept_name_explain_it_with_todays_z_scores():
    z = pd.Series(
        {
            "inactive_span_share": 0.9,
            "log_recency_days": 0.4,
            "log_order_count": -1.1,
            "age_years": 2.0,
        }
    )
    assert name_traits("Lapsed Rare buyers", z) == [
        "inactive_span_share +0.9sd",
        "log_recency_days +0.4sd",
        "log_order_count -1.1sd",
    ]
    assert name_traits("Typical customers 2", z) == ["no trait beyond 0.25sd"]
    assert name_traits("My VIPs", z) == []


def persona_frame(seed: int = 3, per_cluster: int = 80) -> pd.DataFrame:
    """Three planted groups: one-order newcomers, new repeat buyers, long-standing dormant."""
    rng = np.random.default_rng(seed)
    centres = {
        "inactive_span_share": [1.0, 0.1, 0.6],
        "log_tenure_days": [2.0, 2.2, 5.5],
        "log_days_since_last_activity": [2.0, 1.0, 4.5],
        "log_order_count": [0.7, 2.0, 1.2],
    }
    columns = {
        f: np.concatenate([rng.normal(c, 0.15, per_cluster) for c in centre])
        for f, centre in centres.items()
    }
    frame = pd.DataFrame(columns)
    frame.insert(0, "person_id", [f"p{i:04d}" for i in range(len(frame))])
    return frame


def test_a_kept_name_that_breaks_the_rules_is_replaced_and_its_id_stays():
    frame = persona_frame()
    params = ClusterParams(k_values=[3], seed=7, min_cluster_size=5, sample_size=500)
    first, _ = fit_cluster_model(frame, params)
    for name, traits in zip(first.cluster_names, first.cluster_traits):
        assert name_is_consistent(name) and traits, (name, traits)
    assert not any(
        n.startswith("Lapsed New") or n.startswith("New Lapsed") for n in first.cluster_names
    )
    # a model stored by an older version named the one-order newcomers "Lapsed New"
    members = assign_clusters(first, frame).set_index("person_id")["cluster_id"]
    newcomers = int(members.iloc[0])
    old = renamed_model(first, newcomers, "Lapsed New")
    second, summary = fit_cluster_model(frame, params, previous=old)
    assert second.cluster_ids == first.cluster_ids and summary["matched_cluster_count"] == 3
    renamed = dict(zip(second.cluster_ids, second.cluster_names))
    assert renamed[newcomers] == dict(zip(first.cluster_ids, first.cluster_names))[newcomers]
    assert second.cluster_names == first.cluster_names  # the others keep theirs
    # and a consistent kept name stays, explained by today's traits of its labels
    kept = renamed_model(first, newcomers, "Lapsed Rare buyers")
    third, _ = fit_cluster_model(frame, params, previous=kept)
    index = third.cluster_ids.index(newcomers)
    assert third.cluster_names[index] == "Lapsed Rare buyers"
    assert [t.split()[0] for t in third.cluster_traits[index]] == [
        "inactive_span_share",
        "log_order_count",
    ]


def renamed_model(model: ClusterModel, cluster_id: int, name: str) -> ClusterModel:
    """A copy of a stored model with one cluster renamed (as an older version named it)."""
    copy = ClusterModel.from_json(model.to_json())
    copy.cluster_names[copy.cluster_ids.index(cluster_id)] = name
    return copy


def test_a_single_cluster_or_a_model_without_features_is_typical():
    tiny = pd.DataFrame({"person_id": ["b", "a"], "log_monetary_total": [1.0, 2.0]})
    model, _ = fit_cluster_model(tiny, ClusterParams(k_values=[3], seed=1, min_cluster_size=1))
    assert model.cluster_names == [TYPICAL_NAME]
    constant = tiny.assign(log_monetary_total=3.0)  # the only feature is dropped
    model, summary = fit_cluster_model(
        constant, ClusterParams(k_values=[3], seed=1, min_cluster_size=1)
    )
    assert summary["dropped_features"] and model.cluster_names == [TYPICAL_NAME]
