"""The report charts (python_utils/charts.py): Altair specs rendered by vl-convert. Each test
reads the SVG text, so a chart that repeats a tick label, lifts its duration axis off zero or
hides a series fails here."""

from __future__ import annotations

import re

from python_utils.charts import line_chart, line_chart_spec, scatter_chart

# The stream latency of a real run: a 0.4 s spread around 4 s, two series almost on each other.
LATENCY = {
    "file landed -> segments refreshed": [(1, 3.92), (2, 3.95), (3, 4.01), (4, 4.31)],
    "dbt build --selector realtime": [(1, 3.90), (2, 3.94), (3, 4.00), (4, 4.29)],
}


def _labels(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _axis_labels(svg: str, title: str) -> list[str]:
    """The tick labels printed before an axis title (vl-convert writes an axis' labels, then
    its title)."""
    labels = _labels(svg)
    end = labels.index(title)
    start = max(
        (i + 1 for i, t in enumerate(labels[:end]) if not re.fullmatch(r"[-\d.,kMG]+", t)),
        default=0,
    )
    return labels[start:end]


def test_duration_axis_starts_at_zero_with_distinct_round_ticks():
    svg = line_chart(LATENCY, "Latency", "micro-batch", "seconds")
    y_ticks = _axis_labels(svg, "seconds")
    assert y_ticks[0] == "0", y_ticks
    assert len(y_ticks) == len(set(y_ticks)) >= 4, y_ticks
    assert all(re.fullmatch(r"\d+(\.\d)?", t) for t in y_ticks), y_ticks  # round numbers
    x_ticks = _axis_labels(svg, "micro-batch")
    assert x_ticks == ["1", "2", "3", "4"], x_ticks  # whole batches: no 1.5


def test_every_series_has_its_own_colour_dash_and_marker():
    spec = line_chart_spec(LATENCY, "Latency", "micro-batch", "seconds").to_dict()
    lines, points = spec["layer"]
    colours = lines["encoding"]["color"]["scale"]["range"]
    dashes = lines["encoding"]["strokeDash"]["scale"]["range"]
    shapes = points["encoding"]["shape"]["scale"]["range"]
    assert len(set(colours)) == len(set(map(tuple, dashes))) == len(set(shapes)) == len(LATENCY)
    svg = line_chart(LATENCY, "Latency", "micro-batch", "seconds")
    assert all(name.replace(">", "&gt;") in svg for name in LATENCY)  # both in the legend
    for colour in colours:  # both series drawn, lines and markers
        assert svg.count(f'stroke="{colour}"') >= 1 + len(LATENCY[next(iter(LATENCY))])


def test_log_axes_and_determinism():
    series = {
        "dbt build": [(1e6, 69.2), (1e7, 216.0), (3e7, 672.0)],
        "daily build": [(1e6, 58.2), (1e7, 155.2), (3e7, 591.6)],
    }
    first = line_chart(series, "Pipeline time", "events", "seconds", log_x=True, log_y=True)
    assert first == line_chart(series, "Pipeline time", "events", "seconds", log_x=True, log_y=True)
    x_ticks = _axis_labels(first, "events")
    assert "1M" in x_ticks and "10M" in x_ticks, x_ticks


def test_scatter_chart_has_a_legend_entry_per_group():
    points = [(float(i), float(i % 7), f"cluster {i % 3}") for i in range(60)]
    svg = scatter_chart(points, "Clusters", "pca_x", "pca_y")
    assert {"cluster 0", "cluster 1", "cluster 2"} <= set(_labels(svg))


def test_a_scatter_of_more_points_than_altairs_inline_limit():
    points = [(float(i), float(i % 11), f"cluster {i % 4}") for i in range(6000)]
    assert scatter_chart(points, "Clusters", "pca_x", "pca_y").count("<path") >= 6000
