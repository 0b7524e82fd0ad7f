"""Dates in tests that hold on every day of the year.

A test may not depend on the day it runs (a bank holiday, a weekend, a clock change, the turn
of a year). Two tools here:

* **"Today" can be chosen.** `CASEFLOW_TEST_TODAY=2027-03-26T09:00` (London wall-clock time;
  write the offset, e.g. `2027-10-31T01:30+01:00`, for a time the clocks pass through twice)
  makes every time-skipping test start as if it were that instant: the `ts_env` fixture moves
  the test server's clock forward to it right after the server starts (the clock only moves
  forward, so an instant in the past is refused), and the in-process API reads a wall clock
  set to it too (`api_clock`). `now()` is that clock, for a test that needs the wall clock's
  "now" next to the server's. `make test-awkward-days` runs the time-skipping tests once per
  awkward instant (`tests/awkward_days.py`).

* **A `Scene` is a stretch of the calendar a test is written in**, with its dates worked out by
  hand in a reference year (e.g. Christmas 2026). Its dates are moved on, by whole weeks, to
  the first stretch that starts after today and is *the same calendar*: every day the same
  weekday, the same England & Wales bank holidays (by name) and the same clock (GMT or BST at
  noon; the clocks always change at 01:00 UTC on a Sunday). The hand-worked expectations hold
  there unchanged, so a test's literals never run out. The bank holidays and clock changes a
  scene declares are checked against the `holidays` package and the tz database in the
  reference year (a slip in the hand-worked list fails at import), and are what the moved
  stretch must reproduce. `whole_years=True` moves only by whole years (same day of the
  month), for tests that count calendar months.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import holidays
import pytest
from temporalio.testing import WorkflowEnvironment

LONDON = ZoneInfo("Europe/London")
TODAY_VARIABLE = "CASEFLOW_TEST_TODAY"
# A scene starts at least this long after today: a run of the suite takes minutes, so a test
# that starts late in the run still finds its first date ahead of the server's clock.
MARGIN = timedelta(days=1)
# How far a scene may be moved before the search gives up (a scene whose calendar never
# comes back is a mistake in the scene, not a fact of the calendar).
HORIZON_YEARS = 400

T = TypeVar("T")


class ChosenTodayError(ValueError):
    """CASEFLOW_TEST_TODAY cannot be read as one instant."""


# ----- "today" ----------------------------------------------------------------------------


def parse_today(text: str) -> datetime:
    """An instant from `2027-03-26T09:00` (London wall-clock time) or `...+01:00` (that
    offset), as an aware UTC datetime. A London time that does not exist (the hour the
    clocks skip in March) or exists twice (the hour they repeat in October) is refused
    unless its offset is written."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ChosenTodayError(f"{TODAY_VARIABLE}={text!r} is not an ISO 8601 date-time "
                               "(e.g. 2027-03-26T09:00)") from exc
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    first = moment.replace(tzinfo=LONDON, fold=0)
    second = moment.replace(tzinfo=LONDON, fold=1)
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None)
        if back != moment:
            raise ChosenTodayError(f"{TODAY_VARIABLE}={text}: {moment:%H:%M} on "
                                   f"{moment:%d %b %Y} does not exist in London (the clocks "
                                   "go forward); choose another time")
        raise ChosenTodayError(f"{TODAY_VARIABLE}={text}: {moment:%H:%M} on {moment:%d %b %Y} "
                               "happens twice in London (the clocks go back); write the "
                               "offset: +01:00 for the first (BST), +00:00 for the second (GMT)")
    return first.astimezone(UTC)


def chosen_today() -> datetime | None:
    """The instant CASEFLOW_TEST_TODAY names, if it is set."""
    text = os.environ.get(TODAY_VARIABLE, "").strip()
    return parse_today(text) if text else None


def today() -> datetime:
    """The earliest instant a test may start at: now, or the chosen today if it is later."""
    wall = datetime.now(UTC)
    chosen = chosen_today()
    return max(wall, chosen) if chosen is not None else wall


class _ApiClock:
    """The offset of the chosen today from the wall clock, for the test that runs now."""

    offset = timedelta(0)


def now() -> datetime:
    """The wall clock as the test sees it: the real one, or set to the chosen today when the
    test started (and running on from there)."""
    return datetime.now(UTC) + _ApiClock.offset


def set_clock_offset(offset: timedelta) -> None:
    _ApiClock.offset = offset


class ShiftedDatetime(datetime):
    """`datetime` whose `now()` is `tests.dates.now()`: patched into the API's route module
    while a chosen today is in force, so that the API (which reads the wall clock, as it
    does in production, where it and Temporal's clock agree) and the moved test server keep
    agreeing on what "now" is."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        moment = now()
        return moment.astimezone(tz) if tz is not None else \
            moment.astimezone().replace(tzinfo=None)


async def start_at_chosen_today(env: WorkflowEnvironment) -> bool:
    """Skip a fresh time-skipping server's clock forward to CASEFLOW_TEST_TODAY (if set) and
    set `now()` to it; True if it was set. Fails the test if that instant has passed."""
    chosen = chosen_today()
    if chosen is None:
        return False
    current = await env.get_current_time()
    if chosen <= current:
        pytest.fail(f"{TODAY_VARIABLE}: {chosen:%Y-%m-%d %H:%M} UTC has passed (the test "
                    f"server's clock reads {current:%Y-%m-%d %H:%M} UTC and only moves forward)")
    await env.sleep(chosen - current)
    set_clock_offset(chosen - datetime.now(UTC))
    return True


# ----- scenes -----------------------------------------------------------------------------


@cache
def _bank_holidays(year: int) -> dict[date, str]:
    """England & Wales bank holidays on weekdays (substitute days included), by name."""
    found = holidays.country_holidays("GB", subdiv="ENG", years=[year])
    return {d: str(name) for d, name in found.items() if d.weekday() < 5}


def _holiday(day: date) -> str | None:
    return _bank_holidays(day.year).get(day)


def _noon_offset(day: date) -> timedelta | None:
    return datetime.combine(day, time(12), LONDON).utcoffset()


def _clock_changes_on(day: date) -> bool:
    return _noon_offset(day) != _noon_offset(day - timedelta(days=1))


_LABEL = re.compile(r"(\w{3}) (\d{1,2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}) (GMT|BST)")


@dataclasses.dataclass(frozen=True)
class Scene:
    """A stretch of the calendar, written in a reference year and moved to an equivalent
    stretch after today (see the module's docstring).

    `spans` are the (first, last) days, inclusive, whose calendar the scene's tests rely on:
    every literal date of the scene must fall in one. `holidays` are the bank holidays on
    weekdays inside the spans, and `clock_changes` the Sundays the clocks change there, as
    worked out by hand. `iso_week_parity` also keeps the ISO week number odd or even (a rota
    that turns by week)."""

    name: str
    spans: tuple[tuple[date, date], ...]
    holidays: tuple[date, ...] = ()
    clock_changes: tuple[date, ...] = ()
    whole_years: bool = False
    iso_week_parity: bool = False

    def __post_init__(self) -> None:
        for first, last in self.spans:
            if first > last:
                raise ValueError(f"{self.name}: span {first} .. {last} is backwards")
        found = {d for d in self._days() if _holiday(d) is not None}
        if found != set(self.holidays):
            raise ValueError(f"{self.name}: the bank holidays in its spans are "
                             f"{sorted(found)}, not {sorted(self.holidays)}")
        changes = {d for d in self._days() if _clock_changes_on(d)}
        if changes != set(self.clock_changes):
            raise ValueError(f"{self.name}: the clocks change on {sorted(changes)} in its "
                             f"spans, not {sorted(self.clock_changes)}")

    def _days(self) -> Iterator[date]:
        for first, last in self.spans:
            day = first
            while day <= last:
                yield day
                day += timedelta(days=1)

    # ----- the move -------------------------------------------------------------------

    @cached_property
    def shift(self) -> timedelta:
        """How far this run moves the scene: whole weeks, the fewest that put its first day
        at least MARGIN after today on the same calendar."""
        return self.shift_after(today())

    def shift_after(self, moment: datetime) -> timedelta:
        start = datetime.combine(min(f for f, _ in self.spans), time(0), LONDON)
        weeks = max(0, math.ceil((moment + MARGIN - start) / timedelta(weeks=1)))
        for days in self._candidates(weeks * 7):
            if self._same_calendar(days):
                return timedelta(days=days)
        raise AssertionError(f"{self.name}: no stretch of calendar like it within "
                             f"{HORIZON_YEARS} years after {moment:%Y-%m-%d}")

    def _candidates(self, least: int) -> Iterator[int]:
        if not self.whole_years:
            yield from range(least, least + HORIZON_YEARS * 366, 7)
            return
        first = min(f for f, _ in self.spans)
        for years in range(HORIZON_YEARS):
            try:
                days = (first.replace(year=first.year + years) - first).days
            except ValueError:  # 29 February
                continue
            if days >= least and days % 7 == 0:
                yield days

    def _same_calendar(self, days: int) -> bool:
        by = timedelta(days=days)
        for day in self._days():
            moved = day + by
            if self.whole_years and (moved.month, moved.day) != (day.month, day.day):
                return False
            if _holiday(moved) != _holiday(day) or _noon_offset(moved) != _noon_offset(day):
                return False
            if self.iso_week_parity and \
                    moved.isocalendar().week % 2 != day.isocalendar().week % 2:
                return False
        return True

    # ----- the scene's dates, moved ---------------------------------------------------

    def _inside(self, day: date) -> None:
        if not any(first <= day <= last for first, last in self.spans):
            raise ValueError(f"{day} is outside the scene {self.name} "
                             f"({', '.join(f'{a} .. {b}' for a, b in self.spans)})")

    def day(self, y: int, m: int, d: int) -> date:
        """A date of the reference year, moved."""
        day = date(y, m, d)
        self._inside(day)
        return day + self.shift

    def local(self, y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
        """A London wall-clock time of the reference year, moved (the same wall-clock time
        on the moved day: the moved day has the same offset)."""
        return datetime.combine(self.day(y, m, d), time(h, mi), LONDON)

    def utc(self, y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
        """A UTC instant of the reference year, moved."""
        instant = datetime(y, m, d, h, mi, tzinfo=UTC)
        self._inside(instant.astimezone(LONDON).date())
        return instant + self.shift

    def label(self, text: str) -> str:
        """A due time as people read it (`Tue 5 Jan 2027 17:00 GMT`), moved. The weekday
        written must be the date's: a hand-worked label is checked as it is read."""
        found = _LABEL.fullmatch(text)
        if found is None:
            raise ValueError(f"not a due-time label: {text!r}")
        weekday, d, month, y, hh, mm, zone = found.groups()
        day = datetime.strptime(f"{d} {month} {y}", "%d %b %Y").date()
        if f"{day:%a}" != weekday:
            raise ValueError(f"{text!r}: {day} is a {day:%A}")
        moved = self.day(day.year, day.month, day.day)
        return f"{moved:%a} {moved.day} {moved:%b %Y} {hh}:{mm} {zone}"

    def move(self, value: T) -> T:
        """Every date and datetime in `value` (a dataclass, tuple, list or dict of them)
        moved; anything else as it is."""
        return self._move(value)  # type: ignore[no-any-return]

    def _move(self, value: Any) -> Any:
        if isinstance(value, datetime):
            self._inside(value.astimezone(LONDON).date())
            return value + self.shift
        if isinstance(value, date):
            self._inside(value)
            return value + self.shift
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.replace(value, **{
                f.name: self._move(getattr(value, f.name))
                for f in dataclasses.fields(value) if f.init})
        if isinstance(value, tuple):
            return tuple(self._move(v) for v in value)
        if isinstance(value, list):
            return [self._move(v) for v in value]
        if isinstance(value, dict):
            return {k: self._move(v) for k, v in value.items()}
        return value
