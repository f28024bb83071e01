"""Tiny dependency-free SVG charts for reports (benchmarks, cluster maps): deterministic text
output that any browser or README viewer shows."""

from __future__ import annotations

from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")


def _scale(values: list[float], lo_px: float, hi_px: float, log: bool = False):
    import math

    transform = (lambda v: math.log10(v)) if log else (lambda v: v)
    lo, hi = min(map(transform, values)), max(map(transform, values))
    span = hi - lo or 1.0
    return lambda v: lo_px + (transform(v) - lo) / span * (hi_px - lo_px)


def line_chart(series: dict[str, list[tuple[float, float]]], title: str, x_label: str,
               y_label: str, log_x: bool = False, log_y: bool = False,
               width: int = 640, height: int = 400) -> str:
    """A line chart: one polyline with markers per named series of (x, y) points."""
    points = [p for values in series.values() for p in values]
    # the legend sits right of the plot: wide enough for the longest name (12px sans: ~7px/char)
    legend = max(170, 30 + 7 * max((len(name) for name in series), default=0))
    width += legend - 170
    left, right, top, bottom = 70, width - legend, 40, height - 50
    sx = _scale([p[0] for p in points], left, right, log_x)
    sy = _scale([p[1] for p in points], bottom, top, log_y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">'
             f'{escape(title)}</text>',
             f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{bottom}" x2="{left}" y2="{top}" stroke="black"/>',
             f'<text x="{(left + right) / 2}" y="{height - 12}" text-anchor="middle">'
             f'{escape(x_label)}</text>',
             f'<text x="16" y="{(top + bottom) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 16 {(top + bottom) / 2})">{escape(y_label)}</text>']
    for x in sorted({p[0] for p in points}):
        parts.append(f'<text x="{sx(x):.1f}" y="{bottom + 16}" text-anchor="middle">'
                     f'{x:,.0f}</text>')
    placed: list[float] = []  # a value label closer than 11px to a placed one is left out
    for y in sorted({p[1] for p in points}):
        if all(abs(sy(y) - other) >= 11 for other in placed):
            placed.append(sy(y))
            parts.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" '
                         f'font-size="10">{y:,.1f}</text>')
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"/>')
        parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{colour}"/>'
                  for x, y in values]
        parts.append(f'<rect x="{right + 20}" y="{top + 20 * i}" width="12" height="12" '
                     f'fill="{colour}"/><text x="{right + 38}" y="{top + 20 * i + 11}">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def scatter_chart(points: list[tuple[float, float, str]], title: str, x_label: str,
                  y_label: str, width: int = 720, height: int = 480) -> str:
    """A scatter plot of (x, y, group) points, one colour per group, with a legend."""
    left, right, top, bottom = 50, width - 230, 40, height - 40
    sx = _scale([p[0] for p in points], left, right)
    sy = _scale([p[1] for p in points], bottom, top)
    groups = sorted({p[2] for p in points})
    colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">'
             f'{escape(title)}</text>',
             f'<text x="{(left + right) / 2}" y="{height - 10}" text-anchor="middle">'
             f'{escape(x_label)}</text>',
             f'<text x="14" y="{(top + bottom) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 14 {(top + bottom) / 2})">{escape(y_label)}</text>']
    parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2" fill="{colour[g]}" '
              f'fill-opacity="0.6"/>' for x, y, g in points]
    for i, g in enumerate(groups):
        parts.append(f'<rect x="{right + 20}" y="{top + 20 * i}" width="12" height="12" '
                     f'fill="{colour[g]}"/><text x="{right + 38}" y="{top + 20 * i + 11}">'
                     f'{escape(g)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
