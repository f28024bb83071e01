"""The report charts (benchmarks, the stream's latency, the cluster map) in the dashboard's
charting library: Altair (Vega-Lite) specs rendered to static SVG by vl-convert, with no browser
and no network. Vega-Lite picks the ticks (round numbers, never one label twice), durations start
at zero unless an axis is logarithmic, and every series has its own colour, dash and marker shape,
so a series lying on another one still shows."""

from __future__ import annotations

import altair as alt
import pandas as pd

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
#: dash patterns and marker shapes cycled with the colours: overlapping series stay apart
DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3])
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as SVG text (vl-convert: the same spec gives the same text)."""
    import vl_convert

    with alt.data_transformers.disable_max_rows():  # a report inlines its data, all of it
        spec = chart.to_dict()
    return vl_convert.vegalite_to_svg(spec, format_locale="en-US")


def line_chart_spec(
    series: dict[str, list[tuple[float, float]]],
    title: str,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
    width: int = 560,
    height: int = 340,
) -> alt.LayerChart:
    """A line chart of named series of (x, y) points: lines with markers, a legend below."""
    names = list(series)
    frame = pd.DataFrame(
        [{"series": name, "x": float(x), "y": float(y)} for name in names for x, y in series[name]],
        columns=["series", "x", "y"],
    )
    whole_x = bool(len(frame)) and bool((frame["x"] % 1 == 0).all())

    def cycle(values):
        return [values[i % len(values)] for i in range(len(names))]

    legend = alt.Legend(title=None, orient="bottom", direction="vertical", symbolStrokeWidth=2)
    colour = alt.Color(
        "series:N", scale=alt.Scale(domain=names, range=cycle(PALETTE)), legend=legend
    )
    dash = alt.StrokeDash(
        "series:N", scale=alt.Scale(domain=names, range=cycle(DASHES)), legend=legend
    )
    shape = alt.Shape("series:N", scale=alt.Scale(domain=names, range=cycle(SHAPES)), legend=legend)
    x = alt.X(
        "x:Q",
        title=x_label,
        scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False, nice=True),
        axis=alt.Axis(
            format="~s" if log_x else "~r", labelOverlap=True, tickMinStep=1 if whole_x else None
        ),
    )
    y = alt.Y(
        "y:Q",
        title=y_label,
        scale=alt.Scale(type="log") if log_y else alt.Scale(zero=True, nice=True),
        axis=alt.Axis(format="~s" if log_y else "~r", labelOverlap=True, grid=True),
    )
    base = alt.Chart(frame).encode(x=x, y=y, color=colour)
    lines = base.mark_line(strokeWidth=2, opacity=0.9).encode(strokeDash=dash)
    points = base.mark_point(size=60, filled=False, strokeWidth=2).encode(shape=shape)
    return (lines + points).properties(title=title, width=width, height=height, background="white")


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    title: str,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
    width: int = 560,
    height: int = 340,
) -> str:
    """line_chart_spec as SVG text."""
    return to_svg(line_chart_spec(series, title, x_label, y_label, log_x, log_y, width, height))


def scatter_chart(
    points: list[tuple[float, float, str]],
    title: str,
    x_label: str,
    y_label: str,
    width: int = 560,
    height: int = 400,
) -> str:
    """A scatter plot of (x, y, group) points, one colour per group, with a legend; SVG text."""
    frame = pd.DataFrame(points, columns=["x", "y", "group"])
    groups = sorted(frame["group"].unique())
    chart = (
        alt.Chart(frame)
        .mark_circle(size=12, opacity=0.6)
        .encode(
            x=alt.X("x:Q", title=x_label, scale=alt.Scale(zero=False)),
            y=alt.Y("y:Q", title=y_label, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "group:N",
                title=None,
                scale=alt.Scale(
                    domain=groups, range=[PALETTE[i % len(PALETTE)] for i in range(len(groups))]
                ),
            ),
        )
        .properties(title=title, width=width, height=height, background="white")
    )
    return to_svg(chart)
