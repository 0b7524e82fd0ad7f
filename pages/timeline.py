"""A transfer's timeline: its deadlines against the events that happened, on one time axis.

This module computes what the chart shows (each deadline's span, status and symbol, the
events grouped per London day, the axis' ticks at London midnights); pages/timeline_chart
draws it with matplotlib. The caller passes `now`, so a test can fix every instant.

"The events that happened" are the audit trail's events, grouped per London day (a busy day
is one marker, not a pile of overlapping ones); each group sits at its first event's instant,
so a deadline missed in the morning is drawn before that afternoon's late transfer.

Colour is never the only cue: each deadline's mark carries a symbol and a word (✓ met,
✓ met late, ✗ missed, ○ due, ‖ paused, and "extended").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from models.days import london_date, london_instant, london_label
from models.transfer import DeadlineStatus, DeadlineView, TransferView

MAX_TICKS = 8
TICK_STEPS_DAYS = (1, 2, 7, 14, 28, 56, 91, 182, 364)


class Event(Protocol):
    """What the chart needs of a trail event (api.routes.transfers.EventOut)."""

    @property
    def at(self) -> datetime: ...

    @property
    def summary(self) -> str: ...


@dataclass(frozen=True)
class Tick:
    at: datetime
    label: str  # the London date, e.g. "Mon 30 Mar"


@dataclass(frozen=True)
class Mark:
    """A deadline's lane: a bar from its start to its due time, and its mark."""

    id: str
    title: str
    start_at: datetime
    due_at: datetime
    mark_at: datetime  # where it was met, or its due time
    end_at: datetime  # how far the bar runs: to the mark, or on to now while missed
    status: str  # pending, met, met late, missed, paused
    extended: bool
    symbol: str
    words: str  # the mark's label: "✗ missed", "✓ met (extended)"
    due: str  # London wall-clock label
    met: str  # London label of when it was met, when known


@dataclass(frozen=True)
class Day:
    at: datetime  # the day's first event
    day: date
    label: str  # "Mon 30 Mar"
    count: int
    summaries: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    start: datetime  # the axis' ends, with a little room either side
    end: datetime
    now: datetime
    ticks: list[Tick]
    marks: list[Mark]
    days: list[Day]
    span: str  # "From Mon 2 Mar 2026 09:00 GMT to …", for the text alternative
    alt: str  # the picture's one-sentence summary


def _short(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def met_at(view: TransferView, deadline: DeadlineView) -> datetime | None:
    """When a met deadline was met, from what meets it (the view keeps no met time itself)."""
    if deadline.status not in (DeadlineStatus.met, DeadlineStatus.met_late):
        return None
    if deadline.met_when == "transferred":
        return view.transferred_at
    gate_id = deadline.met_when.partition(":")[0]
    done = [s.done_at for s in (*view.gates, *view.tasks) if s.id == gate_id]
    return done[0] if done else None


def _status(deadline: DeadlineView) -> tuple[str, str]:
    """The status in words and its symbol (a shape as well as a colour)."""
    if deadline.status is DeadlineStatus.pending and deadline.paused_at is not None:
        return "paused", "‖"
    return {DeadlineStatus.pending: ("pending", "○"), DeadlineStatus.met: ("met", "✓"),
            DeadlineStatus.met_late: ("met late", "✓"),
            DeadlineStatus.missed: ("missed", "✗")}[deadline.status]


def ticks(start: datetime, end: datetime) -> list[Tick]:
    """London midnights between start and end, every 1, 2, 7… days: at most MAX_TICKS."""
    first, last = london_date(start), london_date(end)
    span = (last - first).days + 1
    step = next((s for s in TICK_STEPS_DAYS if span / s <= MAX_TICKS), TICK_STEPS_DAYS[-1])
    found: list[Tick] = []
    # Weekly ticks fall on Mondays, as a manager's week does.
    day = first + timedelta(days=(7 - first.weekday()) % 7) if step % 7 == 0 else first
    while day <= last:
        # London's midnight moves against UTC across a clock change: 23:00 UTC in summer.
        at = london_instant(day, time(0))
        if start <= at <= end:
            found.append(Tick(at.astimezone(UTC), _short(day)))
        day += timedelta(days=step)
    return found


def group_days(events: Sequence[Event]) -> list[tuple[date, list[Event]]]:
    groups: dict[date, list[Event]] = {}
    for event in sorted(events, key=lambda e: e.at):
        groups.setdefault(london_date(event.at), []).append(event)
    return list(groups.items())


def _alt(case_id: str, span: str, marks: Sequence[Mark], days: Sequence[Day]) -> str:
    statuses = Counter(m.status for m in marks)
    counted = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    deadlines = f"{len(marks)} deadline{'' if len(marks) == 1 else 's'}"
    events = sum(d.count for d in days)
    return (f"Timeline of case {case_id}, {span[0].lower()}{span[1:]}: {deadlines}"
            f"{f' ({counted})' if counted else ''} against {events} "
            f"event{'' if events == 1 else 's'} on {len(days)} day{'' if len(days) == 1 else 's'}"
            "; the tables after it say the same in words.")


def build(view: TransferView, events: Sequence[Event], now: datetime) -> Chart:
    """What the chart shows: one lane per deadline, in due order; the events per day."""
    deadlines = sorted(view.deadlines, key=lambda d: d.due_at)
    met = {d.id: met_at(view, d) for d in deadlines}
    instants = [view.anchor_at, now, *(e.at for e in events),
                *(d.due_at for d in deadlines), *(d.start_at for d in deadlines if d.start_at),
                *(m for m in met.values() if m is not None)]
    start, end = min(instants), max(instants)
    span = f"From {london_label(start)} to {london_label(end)}"
    if end - start < timedelta(hours=1):
        end = start + timedelta(hours=1)
    # A little room either side, so that the first and last marks are not on the edge.
    pad = (end - start) / 40
    start, end = start - pad, end + pad

    marks: list[Mark] = []
    for d in deadlines:
        status, symbol = _status(d)
        when_met = met[d.id]
        mark_at = when_met if when_met is not None else d.due_at
        marks.append(Mark(
            id=d.id, title=d.title, start_at=d.start_at or view.anchor_at, due_at=d.due_at,
            mark_at=mark_at, end_at=now if status == "missed" else max(mark_at, d.due_at),
            status=status, extended=d.extended, symbol=symbol,
            words=f"{symbol} {status}" + (" (extended)" if d.extended else ""),
            due=london_label(d.due_at),
            met=london_label(when_met) if when_met is not None else ""))

    days = [Day(at=group[0].at, day=day, label=_short(day), count=len(group),
                summaries=[e.summary for e in group]) for day, group in group_days(events)]
    return Chart(start=start.astimezone(UTC), end=end.astimezone(UTC), now=now,
                 ticks=ticks(start, end), marks=marks, days=days, span=span,
                 alt=_alt(view.case_id, span, marks, days))
