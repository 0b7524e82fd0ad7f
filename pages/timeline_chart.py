"""The timeline (pages/timeline) drawn by matplotlib: a lane of the day's events on top, then
one lane per deadline (a bar from its start to its due time, its mark with a symbol and its
status in words), a dashed "Now" line, and London dates along the bottom."""

from __future__ import annotations

from datetime import datetime

from matplotlib.figure import Figure

from pages.figures import BLUE, GREEN, GREY, GRID, INK, ORANGE, RED, WHITE, Picture, draw
from pages.timeline import Chart

WIDTH = 960
TOP, EVENTS, LANE, BOTTOM = 34, 56, 58, 34  # pixels: "Now", the events' lane, a deadline's
SIDE = 40  # room for a tick's date at either end
COLOUR = {"pending": GREY, "paused": GREY, "met": GREEN, "met late": ORANGE, "missed": RED}
DOT = 20  # a mark's diameter, in points (= pixels here)


def draw_timeline(chart: Chart) -> Picture:
    lanes = len(chart.marks)

    def _x(at: datetime) -> float:
        """Days since the axis' start: the x axis is linear in real time (a day of a clock
        change is 23 or 25 hours wide), and its ticks are London midnights (pages/timeline),
        not matplotlib's, which would fall on UTC midnights."""
        return (at - chart.start).total_seconds() / 86400
    height = TOP + EVENTS + LANE * lanes + BOTTOM

    def paint(figure: Figure) -> None:
        figure.subplots_adjust(left=SIDE / WIDTH, right=1 - SIDE / WIDTH,
                               top=1 - TOP / height, bottom=BOTTOM / height)
        ax = figure.add_subplot()
        # In data units a lane is 1 high; the events' lane is 0, the deadlines 1, 2, …
        events_share = EVENTS / LANE
        ax.set_ylim(lanes + 0.5, 0.5 - events_share)
        ax.set_xlim(_x(chart.start), _x(chart.end))
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xticks([_x(t.at) for t in chart.ticks], [t.label for t in chart.ticks],
                      fontsize=12)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        at_left = ax.get_yaxis_transform()  # x in the axes' share, y in lanes

        events_y = 0.5 - events_share / 2 + 0.15
        ax.text(0, 0.5 - events_share + 0.12, "What happened (events per day)",
                transform=at_left, va="top", fontweight="bold")
        for day in chart.days:
            ax.plot([_x(day.at)], [events_y], "o", color=BLUE, markersize=DOT)
            ax.text(_x(day.at), events_y, str(day.count), color=WHITE, ha="center",
                    va="center_baseline", fontsize=12, fontweight="bold")

        for lane, mark in enumerate(chart.marks, start=1):
            # The title at the lane's left, its status in bold at the right: nothing placed
            # after a text's end, which matplotlib measures in its font and the browser
            # draws in its own.
            ax.text(0, lane - 0.22, mark.title, transform=at_left, va="bottom")
            ax.text(1, lane - 0.22, mark.words, transform=at_left, va="bottom", ha="right",
                    fontweight="bold")
            ax.barh(lane + 0.1, _x(mark.due_at) - _x(mark.start_at), left=_x(mark.start_at),
                    height=0.14, color=GRID, edgecolor=INK if mark.extended else GRID,
                    linestyle="--" if mark.extended else "-", linewidth=1)
            if mark.status == "missed":
                ax.hlines(lane + 0.1, _x(mark.due_at), _x(mark.end_at), colors=RED,
                          linestyles=(0, (4, 3)), linewidth=3)
            if mark.mark_at != mark.due_at:
                ax.vlines(_x(mark.due_at), lane - 0.08, lane + 0.28, colors=INK, linewidth=2)
            ax.plot([_x(mark.mark_at)], [lane + 0.1], "o", color=COLOUR[mark.status],
                    markersize=DOT)
            ax.text(_x(mark.mark_at), lane + 0.1, mark.symbol, color=WHITE, ha="center",
                    va="center_baseline", fontweight="bold")

        ax.axvline(_x(chart.now), color=INK, linewidth=1.2, linestyle=(0, (3, 3)))
        ax.annotate("Now", (_x(chart.now), 1), xycoords=("data", "axes fraction"),
                    xytext=(0, 6), textcoords="offset points", ha="center", va="bottom",
                    fontweight="bold", annotation_clip=False)

    return draw(WIDTH, height, paint, chart.alt, css="app-timeline-chart")
