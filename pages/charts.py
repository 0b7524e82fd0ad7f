"""The report's charts: bars and a line by label, drawn by matplotlib (pages/figures).

Colour is never the only cue: every bar and point carries its value as text, and the page
has a table of the same figures beside each chart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from pages.figures import BLUE, GREEN, INK, Picture, draw, number

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 30  # margins, in pixels
CHAR, LINE = 7.5, 16  # a label's character and line, in pixels, near enough
CROWDED = 6  # more labels than this are turned, so that they do not run into each other
MANY = 12


def summary(title: str, labels: Sequence[str], values: Sequence[float | None],
            unit: str = "", series: bool = False) -> str:
    """The alt text: what the chart shows in one sentence. A series (months) is named by
    its first and last label; categories are not, as their order means nothing."""
    known = [(v, label) for label, v in zip(labels, values, strict=True) if v is not None]
    if series:
        title += f", {labels[0]}" if len(labels) == 1 else f", {labels[0]} to {labels[-1]}"
    if not known:
        return f"{title}: no figures yet; the table gives the details."
    high = max(known, key=lambda k: k[0])  # the first of equals
    low = min(known, key=lambda k: k[0])
    if high[0] == low[0]:
        return f"{title}: {number(high[0], unit)} each; the table gives each figure."
    return (f"{title}: highest {number(high[0], unit)} ({high[1]}), lowest "
            f"{number(low[0], unit)} ({low[1]}); the table gives each figure.")


def wrap(label: str, width: int) -> str:
    """A label in lines of about `width` characters, broken after "_", "-" or a space (a
    deadline's id is one long word otherwise); a longer piece keeps its line whole."""
    lines = [""]
    for piece in re.split(r"(?<=[_\- ])", label):
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(line.rstrip() for line in lines)


def _value_size(labels: Sequence[str]) -> int:
    return 13 if len(labels) <= MANY else 10  # a year's values fit side by side


def _axes(figure: Figure, labels: Sequence[str], unit: str) -> Axes:
    ax = figure.add_subplot()
    ax.grid(axis="y")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=not unit))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, unit)))
    slot = (WIDTH - LEFT - RIGHT) / len(labels)
    turned = len(labels) > CROWDED
    # Upright labels wrap to their slot's width; turned ones (many months) to a few words.
    shown = [wrap(s, 18 if turned else max(8, int(slot / CHAR))) for s in labels]
    ax.set_xticks(range(len(labels)), shown)
    ax.tick_params(axis="x", length=0, pad=6)
    angle = 45 if len(labels) > MANY else 30
    if turned:
        for text in ax.get_xticklabels():
            text.set(rotation=angle, horizontalalignment="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    # Margins in pixels rather than tight_layout, which lays the figure out twice over to
    # find them: a chart's cost would double for the same picture.
    lines = max(s.count("\n") + 1 for s in shown)
    longest = max(len(line) for s in shown for line in s.split("\n"))
    low = BOTTOM + LINE * (lines - 1)
    if turned:
        low = BOTTOM + round(math.sin(math.radians(angle)) * CHAR * longest
                             + math.cos(math.radians(angle)) * LINE * (lines - 1))
    figure.subplots_adjust(left=LEFT / WIDTH, right=1 - RIGHT / WIDTH, top=1 - TOP / HEIGHT,
                           bottom=min(low, HEIGHT // 2) / HEIGHT)
    return ax


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *,
              unit: str = "", series: bool = False) -> Picture:
    """One bar per label with its value written above it; a missing value has no bar."""
    if not labels:
        raise ValueError("a chart needs at least one label")

    def paint(figure: Figure) -> None:
        ax = _axes(figure, labels, unit)
        bars = ax.bar(range(len(labels)), [v or 0 for v in values], width=0.6, color=BLUE)
        ax.bar_label(bars, [number(v, unit) for v in values], padding=3, color=INK,
                     fontweight="bold", fontsize=_value_size(labels))
        top = max([v for v in values if v is not None] + [1])
        ax.set_ylim(0, top * 1.15)  # room for the values above the tallest bar

    return draw(WIDTH, HEIGHT, paint, summary(title, labels, values, unit, series))


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *,
               unit: str = "", top: float | None = None, series: bool = True) -> Picture:
    """Points joined by a line, each with its value; a missing value (nothing decided)
    has no point and breaks the line."""
    if not labels:
        raise ValueError("a chart needs at least one label")

    def paint(figure: Figure) -> None:
        ax = _axes(figure, labels, unit)
        ys = [math.nan if v is None else v for v in values]
        ax.plot(range(len(labels)), ys, color=GREEN, linewidth=3, marker="o", markersize=9)
        highest = top or max([v for v in values if v is not None] + [1])
        for x, v in enumerate(values):
            if v is None:
                continue
            # A dip's value goes under its point, clear of the line on both sides.
            around = [n for n in values[max(x - 1, 0):x + 2] if n is not None]
            under = v < min([n for n in around if n != v], default=v) and v > highest / 8
            ax.annotate(number(v, unit), (x, v), xytext=(0, -11 if under else 9),
                        textcoords="offset points", ha="center",
                        va="top" if under else "bottom", fontweight="bold",
                        fontsize=_value_size(labels))
        ax.set_ylim(0, highest * 1.15)
        ax.set_yticks([t for t in ax.get_yticks() if 0 <= t <= highest])

    return draw(WIDTH, HEIGHT, paint, summary(title, labels, values, unit, series))
