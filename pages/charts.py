"""Charts as server-side SVG: bars and a line, with axes, gridlines and labels.

Chosen over a JavaScript charting library because the pages' CSP allows no inline script
or style: SVG built here needs no script at all, works without a network, and reads the
same in every browser. Colours come as presentation attributes (not `style`), and are
never the only cue: every bar and point carries its value as text, and each chart has
a table of the same figures next to it (its text alternative).

Geometry (bars, points, ticks) is computed apart from the markup, so it is tested as data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 48  # margins for the axes' labels
INK, GRID, BAR, LINE = "#0b0c0c", "#b1b4b6", "#1d70b8", "#00703c"  # GOV.UK palette


@dataclass(frozen=True)
class Mark:
    """One bar (x, y the top left; w, h) or one point (x, y; w = h = 0), with its label."""

    label: str
    value: float | None
    x: float
    y: float
    w: float
    h: float


def nice_max(values: Sequence[float | None], floor: float = 1.0) -> float:
    """The axis' top: the largest value rounded up to 1, 2, 2.5 or 5 times a power of ten."""
    top = max([v for v in values if v is not None] + [floor])
    power = 10.0 ** math.floor(math.log10(top))
    return float(next(power * s for s in (1, 2, 2.5, 5, 10) if power * s >= top))


def ticks(top: float) -> list[float]:
    """Gridlines at round steps: 2, 20, ... for a top of 10, 100; 0.5, 5 for 2, 20."""
    mantissa = top / 10.0 ** math.floor(math.log10(top))
    steps = 4 if math.isclose(mantissa, 2) else 5
    return [top * k / steps for k in range(steps + 1)]


def _plot() -> tuple[float, float]:
    return WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def _y(value: float, top: float) -> float:
    return TOP + _plot()[1] * (1 - value / top)


def bars(labels: Sequence[str], values: Sequence[float | None], top: float) -> list[Mark]:
    """One bar per label, in equal slots with a gap; a missing value has no height."""
    width, _ = _plot()
    slot = width / max(len(labels), 1)
    out = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = _y(value or 0, top)
        out.append(Mark(label, value, LEFT + i * slot + slot * 0.15, y, slot * 0.7,
                        TOP + _plot()[1] - y))
    return out


def points(labels: Sequence[str], values: Sequence[float | None], top: float) -> list[Mark]:
    """One point per label at its slot's centre; a missing value (nothing decided) has none
    and breaks the line."""
    width, _ = _plot()
    slot = width / max(len(labels), 1)
    return [Mark(label, value, LEFT + (i + 0.5) * slot,
                 _y(value, top) if value is not None else math.nan, 0, 0)
            for i, (label, value) in enumerate(zip(labels, values, strict=True))]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "none"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text}{unit}"


def _frame(title: str, top: float, unit: str, marks: Sequence[Mark], body: list[str],
           ident: str) -> Markup:
    width, height = _plot()
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{ident}-t {ident}-d" '
             f'font-family="Arial, sans-serif" font-size="12">',
             f'<title id="{ident}-t">{escape(title)}</title>',
             f'<desc id="{ident}-d">The table after this chart gives the same figures.</desc>']
    for tick in ticks(top):
        y = _y(tick, top)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + width}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
                     f'{escape(_fmt(tick, unit))}</text>')
    base = TOP + height
    parts.append(f'<line x1="{LEFT}" x2="{LEFT + width}" y1="{base}" y2="{base}" '
                 f'stroke="{INK}" stroke-width="2"/>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}" stroke="{INK}" '
                 f'stroke-width="2"/>')
    parts += body
    for mark in marks:
        centre = mark.x + mark.w / 2
        parts.append(f'<text x="{centre:.1f}" y="{base + 18}" text-anchor="middle" '
                     f'fill="{INK}">{escape(mark.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *,
              unit: str = "", ident: str = "chart") -> Markup:
    top = nice_max(values)
    marks = bars(labels, values, top)
    body = []
    for m in marks:
        body.append(f'<rect x="{m.x:.1f}" y="{m.y:.1f}" width="{m.w:.1f}" height="{m.h:.1f}" '
                    f'fill="{BAR}"/>')
        body.append(f'<text x="{m.x + m.w / 2:.1f}" y="{m.y - 4:.1f}" text-anchor="middle" '
                    f'fill="{INK}" font-weight="bold">{escape(_fmt(m.value, unit))}</text>')
    return _frame(title, top, unit, marks, body, ident)


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *,
               unit: str = "", top: float | None = None, ident: str = "chart") -> Markup:
    top = top or nice_max(values)
    marks = points(labels, values, top)
    body, run = [], []
    for m in [*marks, None]:
        if m is not None and m.value is not None:
            run.append(f"{m.x:.1f},{m.y:.1f}")
            continue
        if len(run) > 1:
            body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE}" '
                        f'stroke-width="3"/>')
        run = []
    for m in marks:
        if m.value is not None:
            body.append(f'<circle cx="{m.x:.1f}" cy="{m.y:.1f}" r="5" fill="{LINE}"/>')
            body.append(f'<text x="{m.x:.1f}" y="{m.y - 9:.1f}" text-anchor="middle" '
                        f'fill="{INK}" font-weight="bold">{escape(_fmt(m.value, unit))}</text>')
    return _frame(title, top, unit, marks, body, ident)
