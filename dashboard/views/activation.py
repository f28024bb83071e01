"""Real-time and activation: recent entries and exits, journeys as a funnel, the outbox and the
audiences' delivery status."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.ui import chart, header, hide_small_counts, mart

copy = header(
    "Real-time and activation",
    "Who entered and left segments, what the journeys "
    "sent or held back and why, and what reached the destinations.",
)
if copy is not None:
    changes = mart("segment_membership_changes", copy)
    if changes is not None and len(changes):
        st.subheader("Entries and exits")
        daily = changes.assign(day=changes["changed_at"].dt.floor("D"))
        recent = daily[daily["day"] >= daily["day"].max() - pd.Timedelta(days=13)]
        counts = recent.groupby(["day", "change_type"]).size().rename("persons").reset_index()
        chart(
            alt.Chart(counts)
            .mark_bar()
            .encode(
                x=alt.X("yearmonthdate(day):O", title="day"),
                y=alt.Y("persons:Q", title="persons"),
                color=alt.Color("change_type:N", title="change"),
                xOffset="change_type:N",
            ),
            counts,
            "Entries and exits, last 14 days",
        )
        realtime = changes[changes["segment_family"] == "realtime"]
        if len(realtime):
            st.caption(
                f"Real-time segments: {len(realtime):,} changes, the latest at "
                f"{realtime['changed_at'].max()}"
            )

    log = mart("activation_journey_log", copy)
    suppressions = mart("activation_suppressions", copy)
    outbox = mart("activation_outbox", copy)
    if log is not None and len(log):
        st.subheader("Journeys")
        journeys = sorted(log["journey_id"].unique())
        journey = st.selectbox("Journey", journeys)
        steps = log[log["journey_id"] == journey]
        episodes = steps[["person_hash", "episode_started_at"]].drop_duplicates()
        converted = steps.loc[
            steps["reason"] == "goal_reached", ["person_hash", "episode_started_at"]
        ].drop_duplicates()
        funnel = [
            ("entered (episodes)", len(episodes)),
            ("decided", len(steps)),
            ("messaged", int((steps["decision"] == "sent").sum())),
            ("converted (goal reached)", len(converted)),
        ]
        held = (
            steps[(steps["decision"] != "sent") & (steps["reason"] != "goal_reached")]
            .groupby("reason")
            .size()
        )
        funnel += [(f"suppressed: {reason}", int(n)) for reason, n in held.items()]
        stages = hide_small_counts(pd.DataFrame(funnel, columns=["stage", "count"]), "count")
        chart(
            alt.Chart(stages.dropna())
            .mark_bar()
            .encode(
                x=alt.X("count:Q", title="count"),
                y=alt.Y("stage:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
            ),
            stages,
            "Funnel",
        )
        st.caption(
            "Converted: episodes that reached the journey's goal (the journey stops "
            "there). Whether the messages caused it is measured against the activation "
            "holdout on the Experiments page."
        )
    if outbox is not None:
        st.subheader("Outbox and delivery")
        deliveries = mart("activation_delivery_log", copy, optional=True)
        messages = outbox[["message_id", "journey_id", "channel"]]
        if deliveries is not None and len(deliveries):
            latest = (
                deliveries.sort_values(["message_id", "attempt"])
                .groupby("message_id")
                .tail(1)[["message_id", "status", "attempt"]]
            )
            messages = messages.merge(latest, on="message_id", how="left")
        else:
            messages = messages.assign(status=pd.NA, attempt=pd.NA)
        messages["status"] = messages["status"].fillna("not attempted")
        by_status = (
            messages.groupby(["journey_id", "channel", "status"])
            .size()
            .rename("messages")
            .reset_index()
        )
        chart(
            alt.Chart(by_status)
            .mark_bar()
            .encode(
                x=alt.X("messages:Q", title="messages"),
                y=alt.Y("journey_id:N", title=None, axis=alt.Axis(labelLimit=260)),
                color=alt.Color(
                    "status:N",
                    title="delivery",
                    scale=alt.Scale(
                        domain=["delivered", "failed", "dead_lettered", "not attempted"],
                        range=["#1b7837", "#f28e2b", "#d62728", "#bab0ac"],
                    ),
                ),
            ),
            hide_small_counts(by_status, "messages"),
            "Outbox by delivery status",
        )
        st.caption(
            "Delivery: the latest attempt of each message in the delivery log "
            "(`python -m python_utils deliver`); not attempted: not due yet, or no "
            "delivery has run."
        )
    if suppressions is not None and len(suppressions):
        st.caption("Decisions held back, by reason (activation_suppressions)")
        reasons = suppressions.groupby("reason").size().rename("messages").reset_index()
        st.dataframe(hide_small_counts(reasons, "messages"), hide_index=True, width="stretch")
    status = mart("audience_sync_status", copy)
    if status is not None:
        st.subheader("Audiences and delivery")
        st.dataframe(status, hide_index=True, width="stretch")
