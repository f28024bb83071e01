"""Monitoring and data quality: feature drift over builds, alerts, transitions, model runs and
the raw rows' accounting with the quarantine reasons."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.ui import MAJOR_PSI, MODERATE_PSI, chart, header, hide_small_counts, mart

copy = header(
    "Monitoring and data quality",
    "Is the data still what the models learnt, and did every raw row arrive?",
)
if copy is not None:
    drift = mart("feature_drift", copy)
    if drift is not None and len(drift):
        st.subheader("Feature drift (PSI)")
        cells = drift[["as_of_date", "feature", "psi", "drift_level"]].copy()
        cells["as_of_date"] = cells["as_of_date"].astype(str)
        chart(
            alt.Chart(cells)
            .mark_rect()
            .encode(
                x=alt.X("as_of_date:O", title="build (as_of)"),
                y=alt.Y("feature:N", title=None),
                color=alt.Color(
                    "psi:Q",
                    title="PSI",
                    scale=alt.Scale(
                        domain=[0, MODERATE_PSI, MAJOR_PSI, max(0.5, float(cells["psi"].max()))],
                        range=["#f7fbff", "#fee08b", "#f46d43", "#a50026"],
                    ),
                ),
                tooltip=["feature", "as_of_date", "psi", "drift_level"],
            ),
            cells,
            "Drift heatmap",
        )
    alerts = mart("monitoring_alerts", copy)
    if alerts is not None:
        st.subheader("Alerts of the latest build")
        latest = (
            alerts[alerts["as_of_date"] == alerts["as_of_date"].max()] if len(alerts) else alerts
        )
        order = {"critical": 0, "warning": 1, "info": 2}
        st.dataframe(
            latest.sort_values(
                ["severity", "check"], key=lambda c: c.map(order) if c.name == "severity" else c
            ),
            hide_index=True,
            width="stretch",
        )
    transitions = mart("segment_transitions", copy)
    if transitions is not None and len(transitions):
        st.subheader("Transitions in the latest build")
        moved = transitions[
            (transitions["as_of_date"] == transitions["as_of_date"].max())
            & transitions["is_change"]
        ]
        st.dataframe(
            hide_small_counts(
                moved[["segment_family", "from_segment", "to_segment", "person_count"]],
                "person_count",
            ),
            hide_index=True,
            width="stretch",
        )
    refits = mart("model_refit_log", copy)
    clusters = mart("segment_model_runs", copy)
    supervised = mart("supervised_model_runs", copy)
    if clusters is not None and supervised is not None:
        st.subheader("Model runs")
        quality = (
            clusters[["as_of_date", "silhouette", "ari_vs_previous"]]
            .melt("as_of_date", var_name="metric")
            .dropna()
        )
        supervised_quality = supervised.assign(
            metric=lambda f: (
                f["model_name"]
                + ": "
                + f["model_name"].map({"churn": "auc", "segment_classifier": "macro_f1"})
            ),
            value=lambda f: f["auc"].where(f["model_name"] == "churn", f["macro_f1"]),
        )[["as_of_date", "metric", "value"]]
        trend = pd.concat([quality, supervised_quality]).dropna()
        trend["as_of_date"] = trend["as_of_date"].astype(str)
        chart(
            alt.Chart(trend)
            .mark_line(point=True)
            .encode(
                x=alt.X("as_of_date:O", title="run (as_of)"),
                y=alt.Y("value:Q", title="score", scale=alt.Scale(domain=[0, 1])),
                color=alt.Color("metric:N"),
            ),
            trend,
            "Model quality",
        )
    if refits is not None:
        st.dataframe(
            refits.sort_values(["as_of_date", "model_name"], ascending=[False, True]),
            hide_index=True,
            width="stretch",
        )
    accounting = mart("raw_row_accounting", copy)
    if accounting is not None:
        st.subheader("Raw rows: accepted or quarantined, with the reason")
        st.dataframe(accounting, hide_index=True, width="stretch")
        quarantined = accounting[accounting["outcome"] != "accepted"]
        if len(quarantined):
            reasons = (
                quarantined.groupby(["source_table", "reason"], dropna=False)["row_count"]
                .sum()
                .reset_index()
            )
            chart(
                alt.Chart(reasons)
                .mark_bar()
                .encode(
                    x=alt.X("row_count:Q", title="rows"),
                    y=alt.Y("reason:N", sort="-x"),
                    color="source_table:N",
                ),
                reasons,
                "Quarantine reasons",
            )
