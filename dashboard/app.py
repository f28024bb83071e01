"""The dashboard: `make dashboard` (streamlit run dashboard/app.py). One page set over the
marts: overview, segment explorer, real-time and activation, experiments, monitoring."""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # dashboard, python_utils

PAGES = [
    st.Page("views/overview.py", title="Overview", url_path="overview", default=True),
    st.Page("views/explorer.py", title="Segment explorer", url_path="explorer"),
    st.Page("views/activation.py", title="Real-time and activation", url_path="activation"),
    st.Page("views/experiments.py", title="Experiments", url_path="experiments"),
    st.Page("views/monitoring.py", title="Monitoring and data quality", url_path="monitoring"),
]

st.set_page_config(page_title="Audience segments", layout="wide")
st.navigation(PAGES).run()
