"""Experiments: readouts with their intervals by segment, SRM and multiple-exposure flags, and
the lift of personalization against the activation holdout."""

import altair as alt
import streamlit as st

from dashboard.ui import chart, header, mart, visible

copy = header(
    "Experiments", "Lift by segment with 95% intervals; flags that make a readout untrustworthy."
)
readouts = mart("experiment_readouts", copy) if copy else None
exposure = mart("experiment_exposure_summary", copy) if copy else None
if readouts is not None and len(readouts):
    experiments = sorted(readouts["experiment_id"].unique())
    default = experiments.index("activation_holdout") if "activation_holdout" in experiments else 0
    left, right = st.columns(2)
    experiment = left.selectbox("Experiment", experiments, index=default)
    rows = visible(readouts[(readouts["experiment_id"] == experiment) & ~readouts["is_control"]])
    metric = right.selectbox("Metric", sorted(rows["metric"].unique()))
    if experiment == "activation_holdout":
        st.info(
            "activation_holdout is the lift of personalization: persons who got "
            "personalized content and messages against the holdout that did not."
        )
    flags = exposure[exposure["experiment_id"] == experiment] if exposure is not None else None
    cols = st.columns(3)
    srm = bool(rows["is_srm"].fillna(False).any())
    cols[0].metric("Sample ratio mismatch", "yes" if srm else "no")
    if flags is not None and len(flags):
        cols[1].metric("Multiple exposure", f"{flags['multiple_exposure_share'].iloc[0]:.1%}")
        cols[2].metric("Assigned persons", f"{int(flags['assigned_person_count'].iloc[0]):,}")
    if srm:
        st.error(
            "Sample ratio mismatch: the variants' sizes differ from the design; do not "
            "trust these lifts before the assignment is fixed."
        )
    cells = rows[rows["metric"] == metric][
        [
            "variant",
            "segment_family",
            "segment_name",
            "units",
            "value",
            "control_value",
            "abs_lift",
            "abs_lift_ci_low",
            "abs_lift_ci_high",
            "p_value_adjusted",
            "is_significant",
        ]
    ].assign(segment=lambda f: f["segment_family"] + ": " + f["segment_name"])
    base = alt.Chart(cells).encode(y=alt.Y("segment:N", title=None), color=alt.Color("variant:N"))
    chart(
        base.mark_rule().encode(
            x=alt.X("abs_lift_ci_low:Q", title=f"lift in {metric}"), x2="abs_lift_ci_high:Q"
        )
        + base.mark_point(filled=True).encode(x="abs_lift:Q")
        + alt.Chart(cells).mark_rule(strokeDash=[4, 4], color="gray").encode(x=alt.datum(0)),
        cells,
        "Lift with 95% intervals",
    )
