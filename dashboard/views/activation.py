"""Real-time and activation: recent entries and exits, journeys as a funnel, the outbox and the
audiences' delivery status."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.ui import chart, header, hide_small_counts, mart

copy = header("Real-time and activation", "Who entered and left segments, what the journeys "
              "sent or held back and why, and what reached the destinations.")
if copy is not None:
    changes = mart("segment_membership_changes", copy)
    if changes is not None and len(changes):
        st.subheader("Entries and exits")
        daily = changes.assign(day=changes["changed_at"].dt.floor("D"))
        recent = daily[daily["day"] >= daily["day"].max() - pd.Timedelta(days=13)]
        counts = (recent.groupby(["day", "change_type"]).size().rename("persons")
                  .reset_index())
        chart(alt.Chart(counts).mark_bar().encode(
            x=alt.X("day:T", title="day"), y=alt.Y("persons:Q", title="persons"),
            color=alt.Color("change_type:N", title="change"),
            xOffset="change_type:N"), counts, "Entries and exits, last 14 days")
        realtime = changes[changes["segment_family"] == "realtime"]
        if len(realtime):
            st.caption(f"Real-time segments: {len(realtime):,} changes, the latest at "
                       f"{realtime['changed_at'].max()}")

    log = mart("activation_journey_log", copy)
    suppressions = mart("activation_suppressions", copy)
    outbox = mart("activation_outbox", copy)
    if log is not None and len(log):
        st.subheader("Journeys")
        journeys = sorted(log["journey_id"].unique())
        journey = st.selectbox("Journey", journeys)
        steps = log[log["journey_id"] == journey]
        funnel = [("entered (episodes)",
                   steps[["person_hash", "episode_started_at"]].drop_duplicates().shape[0]),
                  ("decided", len(steps)),
                  ("messaged", int((steps["decision"] == "sent").sum()))]
        held = steps[steps["decision"] != "sent"].groupby("reason").size()
        funnel += [(f"suppressed: {reason}", int(n)) for reason, n in held.items()]
        stages = hide_small_counts(
            pd.DataFrame(funnel, columns=["stage", "count"]), "count")
        chart(alt.Chart(stages.dropna()).mark_bar().encode(
            x=alt.X("count:Q", title="count"), y=alt.Y("stage:N", sort=None, title=None)),
            stages, "Funnel")
        st.caption("Conversion after a message is measured against the activation holdout on "
                   "the Experiments page.")
    if outbox is not None:
        st.subheader("Outbox")
        by_channel = outbox.groupby(["journey_id", "channel"]).size().rename(
            "messages").reset_index()
        st.dataframe(hide_small_counts(by_channel, "messages"), hide_index=True,
                     width="stretch")
    if suppressions is not None and len(suppressions):
        reasons = suppressions.groupby("reason").size().rename("messages").reset_index()
        st.dataframe(hide_small_counts(reasons, "messages"), hide_index=True, width="stretch")
    status = mart("audience_sync_status", copy)
    if status is not None:
        st.subheader("Audiences and delivery")
        st.dataframe(status, hide_index=True, width="stretch")
