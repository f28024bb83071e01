"""Overview: persons, segments by family with sizes and shares, KPIs per segment and their
trends, and what changed in the latest build."""

import altair as alt
import streamlit as st

from dashboard.ui import chart, header, hide_small_counts, mart, visible

copy = header("Overview", "Segments by family, their KPIs and what changed in the last build.")
if copy is not None:
    summary = mart("segment_summary", copy)
    memberships = mart("segment_memberships", copy)
    if summary is not None and memberships is not None:
        families = sorted(summary["segment_family"].unique())
        cols = st.columns(4)
        cols[0].metric("Persons in a segment", f"{memberships['person_id'].nunique():,}")
        cols[1].metric("Segment families", len(families))
        cols[2].metric("Segments", len(summary))
        cols[3].metric("Suppressed (k-anonymity)", int(summary["is_suppressed"].sum()))
        family = st.selectbox(
            "Segment family", families, index=families.index("rfm") if "rfm" in families else 0
        )
        shown = visible(summary[summary["segment_family"] == family]).sort_values(
            "member_count", ascending=False
        )
        sizes = shown[["segment_name", "member_count", "member_share"]]
        chart(
            alt.Chart(sizes)
            .mark_bar()
            .encode(
                x=alt.X("member_count:Q", title="members"),
                y=alt.Y("segment_name:N", sort="-x", title=None),
                tooltip=[
                    "segment_name",
                    "member_count",
                    alt.Tooltip("member_share:Q", format=".1%"),
                ],
            ),
            sizes,
            "Segment sizes",
        )
        st.subheader("KPIs per segment")
        st.dataframe(
            shown[
                [
                    "segment_name",
                    "member_count",
                    "member_share",
                    "conversion_rate",
                    "revenue_per_member",
                    "average_order_value",
                    "churn_rate",
                    "avg_engagement_score",
                ]
            ],
            hide_index=True,
            width="stretch",
        )

        kpis = mart("segment_kpis_daily", copy)
        if kpis is not None and len(kpis):
            st.subheader("Trends")
            metric = st.selectbox(
                "KPI",
                [
                    "member_count",
                    "active_share",
                    "conversion_rate",
                    "revenue_per_member",
                    "churn_rate",
                    "avg_engagement_score",
                ],
            )
            trend = visible(kpis[kpis["segment_family"] == family])[
                ["kpi_date", "segment_name", metric]
            ]
            chart(
                alt.Chart(trend)
                .mark_line(point=True)
                .encode(
                    x=alt.X("kpi_date:T", title="day"),
                    y=alt.Y(f"{metric}:Q", title=metric),
                    color=alt.Color("segment_name:N", title="segment"),
                ),
                trend,
                "Trend",
            )

    changes = mart("segment_membership_changes", copy)
    if changes is not None and len(changes):
        st.subheader("What changed in the last build")
        latest = changes[changes["changed_at"] == changes["changed_at"].max()]
        counts = (
            latest.groupby(["segment_family", "segment_name", "change_type"])
            .size()
            .rename("persons")
            .reset_index()
            .sort_values(["segment_family", "segment_name", "change_type"])
        )
        st.caption(f"{len(latest):,} entries and exits at {latest['changed_at'].max()}")
        st.dataframe(hide_small_counts(counts, "persons"), hide_index=True, width="stretch")
