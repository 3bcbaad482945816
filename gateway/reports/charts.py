"""Small server-rendered SVG charts: no script, no front-end build, a few KB each.

A withheld count is never drawn to scale: a ``<5`` bar is an outline at the threshold's
height with its label, an ``x`` is an outline with no height, and line charts leave a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from gateway.reports.suppression import Published, State

WIDTH, ROW, LABEL_W = 560, 18, 150
COLOURS = ("#1f5fa8", "#c2571a", "#2a8a3e", "#8a2a7a", "#6b6b00", "#0f7f8f", "#a0262e",
           "#555555")


def bar_chart(labels: Sequence[str], values: Sequence[Published], *, title: str,
              threshold: int | None) -> Markup:
    """Horizontal bars, one per label (the longest label list stays readable on a phone)."""
    shown = [v.value for v in values if v.value is not None]
    # Scaled by what is shown; a withheld bar never sets the scale (alone, it would fill it).
    top = max(shown + [4 * (threshold or 1)])
    scale = (WIDTH - LABEL_W - 60) / top
    height = ROW * len(labels) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
             f'viewBox="0 0 {WIDTH} {height}" direction="ltr" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * ROW
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end" '
                     f'font-size="11">{escape(label)}</text>')
        if value.value is not None:
            w = max(value.value * scale, 1 if value.value else 0)
            parts.append(f'<rect x="{LABEL_W}" y="{y + 2}" width="{w:.1f}" height="{ROW - 5}" '
                         f'fill="{COLOURS[0]}"/>')
        else:  # withheld: an outline, never a measured bar
            w = (threshold or 0) * scale if value.state is State.SMALL else 0
            parts.append(f'<rect x="{LABEL_W}" y="{y + 2}" width="{max(w, 2):.1f}" '
                         f'height="{ROW - 5}" fill="none" stroke="#888" '
                         f'stroke-dasharray="3 2"/>')
        parts.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 12}" font-size="11">'
                     f"{escape(value.label)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above


def line_chart(periods: Sequence[str], series: Sequence[tuple[str, Sequence[Published]]], *,
               title: str) -> Markup:
    """One line per series over the periods; withheld points are gaps, not zeros."""
    height, left, bottom, right = 220, 40, 40, 10
    plot_w, plot_h = WIDTH - left - right, height - bottom - 10
    shown = [p.value for _, values in series for p in values if p.value is not None]
    top = max(shown + [1])
    step = plot_w / max(len(periods) - 1, 1)

    def xy(i: int, v: int) -> str:
        return f"{left + i * step:.1f},{10 + plot_h - v / top * plot_h:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
             f'viewBox="0 0 {WIDTH} {height + 16 * len(series)}" direction="ltr" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{10 + plot_h}" x2="{WIDTH - right}" y2="{10 + plot_h}" '
             f'stroke="#999"/>',
             f'<text x="{left - 4}" y="16" text-anchor="end" font-size="10">{top}</text>',
             f'<text x="{left - 4}" y="{10 + plot_h}" text-anchor="end" font-size="10">0</text>']
    every = max(len(periods) // 8, 1)
    for i, period in enumerate(periods):
        if i % every == 0:
            parts.append(f'<text x="{left + i * step:.1f}" y="{height - bottom + 24}" '
                         f'text-anchor="middle" font-size="10">{escape(period[5:])}</text>')
    for n, (label, values) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        run: list[str] = []
        for i, p in enumerate([*values, None]):
            if p is not None and p.value is not None:
                run.append(xy(i, p.value))
                continue
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                             f'points="{" ".join(run)}"/>')
            elif run:
                cx, cy = run[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            run = []
        key_y = height + 16 * n + 4
        parts.append(f'<rect x="{left}" y="{key_y}" width="12" height="4" fill="{colour}"/>'
                     f'<text x="{left + 18}" y="{key_y + 6}" font-size="11">'
                     f"{escape(label)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
