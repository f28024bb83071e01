"""What every page shares: cached mart reads, the freshness line, k-anonymity and charts."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.data import DataUnavailable, freshness, read_mart

#: the drift levels' PSI thresholds (var drift_moderate_psi / drift_major_psi defaults)
MODERATE_PSI, MAJOR_PSI = 0.1, 0.25


@st.cache_data(ttl=60, show_spinner=False)
def _cached(name: str, copy: str) -> pd.DataFrame:
    return read_mart(name, copy)


def header(title: str, caption: str) -> str | None:
    """The page title and what data it shows; returns the copy to read, or None (the reason
    shown) when there is no data yet."""
    st.title(title)
    st.caption(caption)
    try:
        fresh = freshness()
    except DataUnavailable as exc:
        st.warning(str(exc))
        return None
    as_of = f"as_of {fresh.as_of_date} · " if fresh.as_of_date else ""
    st.caption(f"{as_of}{fresh.source} · {fresh.age()}")
    return fresh.copy


def mart(name: str, copy: str, optional: bool = False) -> pd.DataFrame | None:
    """A mart of the copy, or None with the reason shown (a warning; a caption for an optional
    table such as the delivery log, which exists once a delivery has run)."""
    try:
        return _cached(name, copy)
    except DataUnavailable as exc:
        (st.caption if optional else st.warning)(str(exc))
        return None


def visible(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows under the k-anonymity minimum (is_suppressed, var segment_k_anonymity) left out:
    the marts already blank their numbers; the dashboard does not draw them at all."""
    if "is_suppressed" in frame.columns:
        return frame[~frame["is_suppressed"].fillna(False).astype(bool)]
    return frame


def chart(spec: alt.Chart, data: pd.DataFrame, label: str) -> None:
    """A chart, and its data as a table under it (tests and screen readers read the table)."""
    st.altair_chart(spec, width="stretch")
    with st.expander(f"{label}: data"):
        st.dataframe(data, hide_index=True, width="stretch")


def k_anonymity() -> int:
    """The k-anonymity minimum (var segment_k_anonymity, 5 by default; SEGMENTS_K_ANONYMITY
    when the project overrides it)."""
    import os

    return int(os.environ.get("SEGMENTS_K_ANONYMITY", "5"))


def hide_small_counts(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Counts of persons under the k-anonymity minimum blanked (shown as empty cells)."""
    out = frame.copy()
    out[column] = out[column].where(out[column] >= k_anonymity()).astype("Int64")
    return out
