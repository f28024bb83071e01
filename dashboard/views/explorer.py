"""Segment explorer: one segment's definition, its profile against the population, a 2-D map
of the clusters, its content blocks and top recommended products, and its overlaps."""

import json

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dashboard.ui import chart, header, hide_small_counts, mart, visible


@st.cache_data(show_spinner="Projecting the persons ...")
def project(standardised: pd.DataFrame, method: str) -> np.ndarray:
    """Two coordinates per row: PCA, or t-SNE (seeded, so a page shows the same map twice)."""
    if method == "t-SNE":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=30, init="pca", random_state=0).fit_transform(
            standardised.to_numpy()
        )
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=0).fit_transform(standardised)


copy = header(
    "Segment explorer", "Pick a segment: who is in it, what they get, how it overlaps the others."
)
summary = mart("segment_summary", copy) if copy else None
if summary is not None:
    shown = visible(summary)
    families = sorted(shown["segment_family"].unique())
    left, right = st.columns(2)
    family = left.selectbox(
        "Family", families, index=families.index("cluster") if "cluster" in families else 0
    )
    names = sorted(shown.loc[shown["segment_family"] == family, "segment_name"])
    segment = right.selectbox("Segment", names)
    row = shown[(shown["segment_family"] == family) & (shown["segment_name"] == segment)]
    cols = st.columns(4)
    cols[0].metric("Members", f"{int(row['member_count'].iloc[0]):,}")
    cols[1].metric("Share of the family", f"{row['member_share'].iloc[0]:.1%}")
    cols[2].metric("Conversion rate", f"{row['conversion_rate'].iloc[0]:.1%}")
    cols[3].metric("Revenue per member", f"{row['revenue_per_member'].iloc[0]:,.2f}")

    health = mart("segment_health", copy)
    if health is not None:
        latest = health[health["evaluated_at"] == health["evaluated_at"].max()]
        advice = latest[(latest["segment_family"] == family) & (latest["segment_name"] == segment)]
        if len(advice):
            st.info(
                f"Recommendation: **{advice['recommendation'].iloc[0]}** — "
                f"{advice['recommendation_evidence'].iloc[0]}"
            )

    profiles = mart("cluster_profiles", copy)
    if family == "cluster" and profiles is not None:
        profile = profiles[profiles["cluster_name"] == segment]
        if len(profile):
            st.subheader("Definition and profile")
            st.write(
                f"Named by its traits (the clustering features furthest from the population, "
                f"in standard deviations): {profile['cluster_traits'].iloc[0]}"
            )
            st.caption(
                "The profile below describes the members on the descriptive features of "
                "cluster_profiles, which need not be the features the model clusters on."
            )
            z = profile[["feature", "z_score", "cluster_mean", "population_mean"]]
            chart(
                alt.Chart(z)
                .mark_bar()
                .encode(
                    x=alt.X("z_score:Q", title="z-score against the population"),
                    y=alt.Y("feature:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
                    color=alt.condition(
                        "datum.z_score > 0", alt.value("#1b7837"), alt.value("#762a83")
                    ),
                ),
                z,
                "Profile",
            )

    scores = mart("customer_cluster_scores", copy)
    features = mart("customer_features", copy)
    runs = mart("segment_model_runs", copy)
    if scores is not None and features is not None and runs is not None and len(scores):
        st.subheader("Persons on a map")
        method = st.radio(
            "Projection",
            ["PCA", "t-SNE"],
            horizontal=True,
            help="t-SNE (scikit-learn, perplexity 30, seed 0) keeps neighbours "
            "together but distorts distances; on at most 1,500 persons.",
        )
        limit = 3000 if method == "PCA" else 1500
        st.caption(
            f"A {method} of the clustering features (standardised) of every n-th person "
            f"by person_id, at most {limit:,}, coloured by cluster."
        )
        used = json.loads(runs.sort_values("run_number")["features_json"].iloc[-1])
        sample = scores.sort_values("person_id").iloc[:: max(1, -(-len(scores) // limit))]
        frame = sample[["person_id", "cluster_name"]].merge(
            features[["person_id", *used]], on="person_id", how="inner"
        )
        values = frame[used].astype("float64").fillna(0.0)
        spread = values.std(ddof=0).replace(0.0, 1.0)
        position = project((values - values.mean()) / spread, method)
        points = frame[["cluster_name"]].assign(
            component_1=position[:, 0], component_2=position[:, 1]
        )
        chart(
            alt.Chart(points)
            .mark_circle(size=12, opacity=0.5)
            .encode(
                x=alt.X("component_1:Q", title=f"{method} 1"),
                y=alt.Y("component_2:Q", title=f"{method} 2"),
                color=alt.Color("cluster_name:N", title="cluster"),
            ),
            points.groupby("cluster_name").size().rename("persons").reset_index(),
            "Map",
        )

    members = mart("segment_memberships", copy)
    if members is not None:
        ids = set(
            members.loc[
                (members["segment_family"] == family) & (members["segment_name"] == segment),
                "person_id",
            ]
        )
        decisions = mart("content_decisions", copy)
        if decisions is not None:
            st.subheader("Content blocks")
            blocks = (
                decisions[decisions["person_id"].isin(ids)]
                .groupby(["slot", "content_block_id"], dropna=False)
                .size()
                .rename("persons")
                .reset_index()
                .sort_values(["slot", "persons"], ascending=[True, False])
            )
            st.dataframe(hide_small_counts(blocks, "persons"), hide_index=True, width="stretch")
        recommendations = mart("person_recommendations", copy)
        if recommendations is not None:
            st.subheader("Top recommended products")
            top = (
                recommendations[recommendations["person_id"].isin(ids)]
                .groupby("product_id")
                .size()
                .rename("persons")
                .reset_index()
                .sort_values(["persons", "product_id"], ascending=[False, True])
                .head(10)
            )
            st.dataframe(hide_small_counts(top, "persons"), hide_index=True, width="stretch")

    overlaps = mart("segment_overlaps", copy)
    if overlaps is not None:
        st.subheader("Overlap with other segments")
        mine = (
            overlaps[(overlaps["segment_family"] == family) & (overlaps["segment_name"] == segment)]
            .sort_values("jaccard", ascending=False)[
                ["other_family", "other_name", "shared_member_count", "jaccard", "is_redundant"]
            ]
            .head(15)
        )
        st.dataframe(
            hide_small_counts(mine, "shared_member_count"), hide_index=True, width="stretch"
        )
