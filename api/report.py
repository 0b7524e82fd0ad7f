"""The timeliness report: an authority's transfers by sending team, pathway and month.

Definitions (the README repeats them):

* **A transfer** is one current row of the case store (one run). It counts in the month,
  in London, of its `started_at` (when its first change was recorded), not of its anchor:
  the start is always known and never moves, so a month's figures only grow with time.
* **Team** is the sending team (`from_team`): the team that runs the transfer to its end.
* **Decided**: the transfer has been transferred (`transferred_at` set), or one of its
  transfer deadlines (those met when the case is transferred, `met_when: transferred`,
  the agreed transfer date included) was missed. Transfers still running with nothing
  missed, and those that ended (withdrawn, declined, redirected) with nothing missed, are
  not decided and stay out of the percentage.
* **Within timescale**: transferred, with none of its transfer deadlines `missed` or
  `met_late`; a deadline extended by agreement and then met counts as met.
  `within_timescale_pct` = within / decided × 100, one decimal; null when nothing is decided.
* **Working days to transfer / to allocation**: working days (Monday to Friday, not a bank
  holiday or closure day of the authority's calendar) after the anchor's London date up to
  and including the London date of `transferred_at` / of the first `allocated` event in
  the trail: the count models/days.add_working_days makes (day 0 is the anchor's date).
  The medians are of the transfers that got there.
* **Breaches**: per deadline id, the transfers whose deadline of that id is `missed` or
  `met_late` now (any kind: transfer deadlines, allocation, post-transfer duties).
* **Disputes**: each `disputed` event in the trail starts one; the level reached is 1 plus
  the `escalated` events before it ended; it ends `proceed` (dispute_resolved), `redirect`
  (redirected), `decline` (declined) or `withdrawn` (the transfer withdrawn during it), or
  is still `open`.

Reads the current rows and the trail only; the per-transfer facts are columns of the
current row (models/report_facts), the counting and medians done in Python.
"""

from __future__ import annotations

import bisect
import functools
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Table,
    cast,
    func,
    or_,
    select,
)
from sqlmodel import Session

from activities.working_days import non_working_dates
from models.protocol import Calendar
from models.tables import Transfer, TransferEvent

CURRENT: Table = Transfer.__table__  # type: ignore[attr-defined]
EVENTS: Table = TransferEvent.__table__  # type: ignore[attr-defined]

BREACHED = ("missed", "met_late")
DISPUTE_KINDS = ("disputed", "escalated", "dispute_resolved", "redirected", "declined",
                 "withdrawn")
ENDINGS = {"dispute_resolved": "proceed", "redirected": "redirect", "declined": "decline",
           "withdrawn": "withdrawn"}
OUTCOMES = ("proceed", "redirect", "decline", "withdrawn", "open")
MAX_MONTHS = 24


@dataclass(frozen=True)
class Query:
    authority: str
    first: date  # the first day of the first month
    last: date  # the first day of the last month
    team: str | None = None
    pathway: str | None = None
    teams: frozenset[str] | None = None  # the reader's scope: None for the whole authority


@dataclass
class Cell:
    """The figures of one (team, pathway, month), or of the whole report."""

    transfers: int = 0
    decided: int = 0
    within: int = 0
    to_transfer: list[int] = field(default_factory=list)
    to_allocation: list[int] = field(default_factory=list)
    breaches: Counter[str] = field(default_factory=Counter)
    dispute_levels: Counter[int] = field(default_factory=Counter)
    dispute_outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, other: Cell) -> None:
        self.transfers += other.transfers
        self.decided += other.decided
        self.within += other.within
        self.to_transfer += other.to_transfer
        self.to_allocation += other.to_allocation
        self.breaches.update(other.breaches)
        self.dispute_levels.update(other.dispute_levels)
        self.dispute_outcomes.update(other.dispute_outcomes)

    def as_json(self) -> dict[str, Any]:
        return {
            "transfers": self.transfers,
            "decided": self.decided,
            "within_timescale": self.within,
            "within_timescale_pct": round(100 * self.within / self.decided, 1)
            if self.decided else None,
            "median_working_days_to_transfer": _median(self.to_transfer),
            "median_working_days_to_allocation": _median(self.to_allocation),
            "breaches": dict(sorted(self.breaches.items())),
            "disputes": {
                "count": sum(self.dispute_outcomes.values()),
                "by_level": {str(k): v for k, v in sorted(self.dispute_levels.items())},
                "by_outcome": {o: self.dispute_outcomes[o] for o in OUTCOMES},
            },
        }


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def month_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants of London midnight starting `first`'s month and ending `last`'s."""
    london = ZoneInfo("Europe/London")
    end = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    return (datetime.combine(first, time(0), london).astimezone(UTC),
            datetime.combine(end, time(0), london).astimezone(UTC))


class WorkingDays:
    """Working days between two dates by a calendar: weekdays by arithmetic, closed dates by
    bisection, so a year of transfers costs no loop over days."""

    def __init__(self, calendar: Calendar, years: Iterable[int]) -> None:
        self._closed = _closed(calendar.model_dump_json(), tuple(years))

    def after(self, day0: date, day: date) -> int:
        """Working days in (day0, day]: `day` is the result-th working day after day0."""
        if day <= day0:
            return 0
        days = (day - day0).days
        weekdays = 5 * (days // 7) + sum(
            1 for k in range(1, days % 7 + 1) if (day0.weekday() + k) % 7 < 5)
        closed = (bisect.bisect_right(self._closed, day)
                  - bisect.bisect_right(self._closed, day0))
        return weekdays - closed


@functools.lru_cache(maxsize=32)
def _closed(calendar: str, years: tuple[int, ...]) -> list[date]:
    """The holidays package takes tens of milliseconds per call: keep its answers."""
    return sorted(non_working_dates(Calendar.model_validate_json(calendar), years))


def _filters(q: Query) -> list[ColumnElement[bool]]:
    lo, hi = month_bounds(q.first, q.last)
    where = [CURRENT.c.authority == q.authority, CURRENT.c.started_at >= lo,
             CURRENT.c.started_at < hi]
    if q.team is not None:
        where.append(CURRENT.c.from_team == q.team)
    if q.pathway is not None:
        where.append(CURRENT.c.pathway == q.pathway)
    if q.teams is not None:
        where.append(or_(CURRENT.c.from_team.in_(sorted(q.teams)),
                         CURRENT.c.to_team.in_(sorted(q.teams))))
    return where


def _runs(where: Sequence[ColumnElement[bool]], dialect: str, zone: str) -> Select[Any]:
    """Per run: sending team, pathway, start, anchor, transferred_at, its breached deadline
    ids and whether one is a transfer deadline: plain columns the case store writes from the
    view (models/report_facts), so no row's JSON is parsed here.

    On PostgreSQL the three times come back as the authority's local dates, converted in
    the database: a year of transfers spends most of its Python time converting times
    otherwise. SQLite has no time zones: there the caller converts them."""
    times = (CURRENT.c.started_at, CURRENT.c.anchor_at, CURRENT.c.transferred_at)
    if dialect == "postgresql":
        times = tuple(cast(func.timezone(zone, t), Date) for t in times)  # type: ignore[assignment]
    return select(CURRENT.c.run_id, CURRENT.c.from_team, CURRENT.c.pathway, *times,
                  CURRENT.c.breached, CURRENT.c.transfer_late).where(*where)


def _first_allocated(where: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return (select(EVENTS.c.run_id, func.min(EVENTS.c.at))
            .join(CURRENT, CURRENT.c.run_id == EVENTS.c.run_id)
            .where(*where, EVENTS.c.kind == "allocated").group_by(EVENTS.c.run_id))


def _dispute_events(where: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return (select(EVENTS.c.run_id, EVENTS.c.kind)
            .join(CURRENT, CURRENT.c.run_id == EVENTS.c.run_id)
            .where(*where, EVENTS.c.kind.in_(DISPUTE_KINDS))
            .order_by(EVENTS.c.run_id, EVENTS.c.seq))


def _disputes(kinds: Iterable[str]) -> list[tuple[int, str]]:
    """A run's disputes from its trail's dispute events, in order: (level reached, ending)."""
    found: list[tuple[int, str]] = []
    level: int | None = None
    for kind in kinds:
        if kind == "disputed":
            level = 1
        elif level is not None and kind == "escalated":
            level += 1
        elif level is not None and kind in ENDINGS:
            found.append((level, ENDINGS[kind]))
            level = None
    if level is not None:
        found.append((level, "open"))
    return found


def _local_date(value: date | datetime | str, zone: ZoneInfo) -> date:
    if not isinstance(value, datetime | str):  # already local (converted by PostgreSQL)
        return value
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # SQLite hands stored times back as naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


@dataclass
class Report:
    total: Cell
    rows: dict[tuple[str, str, str], Cell]


def timeliness(session: Session, q: Query, calendar: Calendar) -> Report:
    """The report's figures for one authority over whole London months."""
    where = _filters(q)
    zone = ZoneInfo(calendar.timezone)
    runs = session.execute(_runs(where, session.get_bind().dialect.name,
                                 calendar.timezone)).all()
    allocated = {run: first for run, first in session.execute(_first_allocated(where))}
    kinds: dict[str, list[str]] = defaultdict(list)
    for run_id, kind in session.execute(_dispute_events(where)):
        kinds[run_id].append(kind)

    days = WorkingDays(calendar, range(q.first.year - 1, q.last.year + 3))
    rows: dict[tuple[str, str, str], Cell] = defaultdict(Cell)
    for run_id, team, pathway, started_at, anchor_at, transferred_at, ids, late in runs:
        start = _local_date(started_at, zone)
        month = f"{start.year:04d}-{start.month:02d}"  # strftime costs more, a year over
        cell = rows[(team, pathway, month)]
        cell.transfers += 1
        anchor = _local_date(anchor_at, zone)
        if transferred_at is not None:
            cell.to_transfer.append(days.after(anchor, _local_date(transferred_at, zone)))
        if run_id in allocated:
            cell.to_allocation.append(days.after(anchor, _local_date(allocated[run_id], zone)))
        if transferred_at is not None or late:
            cell.decided += 1
            cell.within += transferred_at is not None and not late
        if ids:
            cell.breaches.update(ids.split())
        for level, ending in _disputes(kinds.get(run_id, ())):
            cell.dispute_levels[level] += 1
            cell.dispute_outcomes[ending] += 1
    total = Cell()
    for cell in rows.values():
        total.add(cell)
    return Report(total=total, rows=dict(sorted(rows.items())))


def months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def csv_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    """The CSV's header and one row per (team, pathway, month); breach columns per deadline
    id and dispute level columns cover what the report holds."""
    ids = sorted(report.total.breaches)
    levels = range(1, max(report.total.dispute_levels, default=0) + 1)
    header = ["team", "pathway", "month", "transfers", "decided", "within_timescale",
              "within_timescale_pct", "median_working_days_to_transfer",
              "median_working_days_to_allocation", "disputes",
              *(f"disputes_{o}" for o in OUTCOMES), *(f"disputes_level_{n}" for n in levels),
              *(f"breaches_{i}" for i in ids)]
    out: list[list[Any]] = []
    for (team, pathway, month), cell in report.rows.items():
        j = cell.as_json()
        out.append([team, pathway, month, j["transfers"], j["decided"], j["within_timescale"],
                    _blank(j["within_timescale_pct"]),
                    _blank(j["median_working_days_to_transfer"]),
                    _blank(j["median_working_days_to_allocation"]), j["disputes"]["count"],
                    *(cell.dispute_outcomes[o] for o in OUTCOMES),
                    *(cell.dispute_levels[n] for n in levels),
                    *(cell.breaches[i] for i in ids)])
    return header, out


def _blank(value: float | None) -> Any:
    return "" if value is None else value

