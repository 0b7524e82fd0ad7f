"""Charts drawn by matplotlib, put in the page as SVG images.

matplotlib is used through its object-oriented API alone (a Figure with its own SVG
canvas), never pyplot: the pages render in FastAPI's thread pool, and pyplot keeps global
state (the current figure) that threads would share.

The SVG goes in as `<img src="data:image/svg+xml;base64,…">` rather than inline: matplotlib
writes `style` attributes, which the pages' self-only CSP forbids in the page itself, and
an image document is isolated from the page and never runs script. Nothing is fetched, so
the charts work without a network.

Each picture keeps its alt text (a one-sentence summary), and the page keeps a table of the
same figures beside it (its text alternative): nothing is only in the picture.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

# The GOV.UK palette.
INK, GRID, BLUE, GREEN = "#0b0c0c", "#b1b4b6", "#1d70b8", "#00703c"
RED, ORANGE, GREY, WHITE = "#d4351c", "#8f4f00", "#505a5f", "#ffffff"

# SVG user units are points (1/72 inch); figures are sized so that one unit is one CSS
# pixel at the width the page shows them, and font sizes read as pixels.
UNIT = 72.0

STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text stays text: readable in tests, sharp at any zoom
    "svg.hashsalt": "caseflow",  # the SVG's ids from a fixed salt: same data, same bytes
    "font.family": "sans-serif",
    # GOV.UK's fallback fonts first; the browser picks. DejaVu Sans ships with matplotlib,
    # so the text is measured without a search of the system's fonts, wherever it runs.
    "font.sans-serif": ["Arial", "Helvetica", "DejaVu Sans"],
    "font.size": 13,
    "text.color": INK,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "axes.linewidth": 1.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "xtick.color": INK,
    "ytick.color": INK,
    "grid.color": GRID,
    "grid.linewidth": 1,
    "figure.facecolor": WHITE,
    "axes.facecolor": WHITE,
}

# rc_context swaps the process-wide rcParams for its span: were two threads inside it at
# once, the second would restore the first's settings on leaving. Drawing one chart takes
# some milliseconds, so one at a time costs little and keeps the settings from leaking.
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class Picture:
    """A chart as SVG bytes with its alt text; Jinja shows it as an <img> (`__html__`)."""

    svg: bytes
    alt: str
    width: int
    height: int
    css: str = "app-chart"

    @property
    def src(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")

    def __html__(self) -> str:
        return Markup('<img class="{}" src="{}" alt="{}" width="{}" height="{}">').format(
            self.css, self.src, self.alt, self.width, self.height)


def draw(width: int, height: int, paint: Callable[[Figure], None], alt: str,
         css: str = "app-chart") -> Picture:
    """A figure of width × height pixels, painted by `paint`, as a Picture."""
    out = io.BytesIO()
    with _DRAWING, rc_context(STYLE):
        figure = Figure(figsize=(width / UNIT, height / UNIT))
        FigureCanvasSVG(figure)
        paint(figure)
        # No date in the metadata, so that the same data gives the same bytes.
        figure.savefig(out, format="svg", metadata={"Date": None})
    return Picture(out.getvalue(), alt, width, height, css)


def number(value: float | None, unit: str = "") -> str:
    """A figure as the tables show it: 4, 4.5, 80%; "none" where there is none."""
    if value is None:
        return "none"
    return f"{value:.1f}".removesuffix(".0") + unit
