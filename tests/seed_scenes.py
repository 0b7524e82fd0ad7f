"""Scenes for the seed-rule tests: the next stretch of calendar, after the time-skipping
server's present, with a known shape, so that due dates can be counted by hand within it
and the tests hold on any day the suite runs.

- a Christmas Day on a Friday: Boxing Day's substitute is Monday 28 December, New Year's Day
  a Friday;
- an early Easter (on or before 15 April): Good Friday and Easter Monday are the only bank
  holidays in the fortnight after it (the May one is the first Monday of May);
- the first Monday of June next year: weeks from any bank holiday or clock change;
- the first Monday of May next year (the early May bank holiday).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.easter import easter

LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A London wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def at_17(day: date) -> datetime:
    """The end of the working day, in UTC (17:00 GMT or BST, as the day has it)."""
    return at(day, 17).astimezone(UTC)


def christmas_on_a_friday(now: datetime, lead: int = 10) -> date:
    """The next 25 December that is a Friday with its scene (from `lead` days before) ahead."""
    year = now.year
    while date(year, 12, 25).weekday() != 4 or \
            at(date(year, 12, 25) - timedelta(days=lead), 0) <= now:
        year += 1
    return date(year, 12, 25)


def early_easter(now: datetime) -> date:
    """The next Easter Sunday after this year's that falls on or before 15 April."""
    year = now.year + 1
    while easter(year) > date(year, 4, 15):
        year += 1
    return easter(year)


def june_monday(now: datetime) -> date:
    """The first Monday of June next year."""
    first = date(now.year + 1, 6, 1)
    return first + timedelta(days=-first.weekday() % 7)


def may_day(now: datetime) -> date:
    """The early May bank holiday next year: the first Monday of May."""
    first = date(now.year + 1, 5, 1)
    return first + timedelta(days=-first.weekday() % 7)
