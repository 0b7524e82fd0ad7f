"""Stretches of the calendar for the seed-rule tests, found from the time-skipping server's
present, so a test's hand-worked due times hold on any day the suite runs.

- `june_monday`: the first Monday of June next year (no bank holiday or clock change for
  weeks either side: the spring bank holiday is the last Monday of May, the summer one the
  last Monday of August);
- `christmas_on_friday`: the next December whose Christmas Day is a Friday, as in 2026: Fri
  25 Dec, Boxing Day's substitute Mon 28 Dec and New Year's Day Fri 1 Jan are closed;
- `easter_on_march_28`: the next year whose Easter Sunday is 28 March, as in 2027: Good
  Friday 26 and Easter Monday 29 March are closed, and the clocks go forward at 01:00 UTC on
  the Sunday.

Each checks its closed days against the `holidays` package, so a slip in the hand-worked
calendar fails loudly rather than moving a due time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter

LONDON = ZoneInfo("Europe/London")
MARGIN = timedelta(days=1)  # a scene starts at least this long after the server's present


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A London wall-clock time on `day`."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def closed_days(first: date, last: date) -> set[date]:
    """England & Wales bank holidays (substitute days included) on weekdays, first to last."""
    bank = holidays.country_holidays("GB", subdiv="ENG", years=range(first.year, last.year + 1))
    return {d for d in bank if first <= d <= last and d.weekday() < 5}


def june_monday(now: datetime) -> date:
    first = date(now.year + 1, 6, 1)
    return first + timedelta(days=-first.weekday() % 7)


def christmas_on_friday(now: datetime) -> int:
    """The year of the next such December still ahead (1 December after `now`)."""
    year = now.year
    while date(year, 12, 25).weekday() != 4 or at(date(year, 12, 1), 0) <= now + MARGIN:
        year += 1
    assert closed_days(date(year, 12, 1), date(year + 1, 1, 31)) == {
        date(year, 12, 25), date(year, 12, 28), date(year + 1, 1, 1)}
    return year


def easter_on_march_28(now: datetime) -> int:
    """The year of the next such Easter still ahead (1 March after `now`)."""
    year = now.year
    while easter(year) != date(year, 3, 28) or at(date(year, 3, 1), 0) <= now + MARGIN:
        year += 1
    assert closed_days(date(year, 3, 1), date(year, 4, 30)) == {date(year, 3, 26),
                                                                date(year, 3, 29)}
    return year


# ----- more scenes (seeds 000 and 001), each returning its day ---------------------------------
# - `christmas_on_a_friday`: the next 25 December that is a Friday with `lead` days before it
#   still ahead (the same calendar as `christmas_on_friday`);
# - `early_easter`: the next Easter Sunday after this year's on or before 15 April: Good Friday
#   and Easter Monday are the only bank holidays in the fortnight after it (the May one, the
#   first Monday of May, is later);
# - `may_day`: the early May bank holiday next year (the first Monday of May).

MINUTE = timedelta(minutes=1)


def at_17(day: date) -> datetime:
    """The end of the working day, in UTC (17:00 GMT or BST, as the day has it)."""
    return at(day, 17).astimezone(UTC)


def christmas_on_a_friday(now: datetime, lead: int = 10) -> date:
    year = now.year
    while date(year, 12, 25).weekday() != 4 or \
            at(date(year, 12, 25) - timedelta(days=lead), 0) <= now:
        year += 1
    assert closed_days(date(year, 12, 25) - timedelta(days=lead), date(year + 1, 1, 31)) == {
        date(year, 12, 25), date(year, 12, 28), date(year + 1, 1, 1)}
    return date(year, 12, 25)


def early_easter(now: datetime) -> date:
    year = now.year + 1
    while easter(year) > date(year, 4, 15):
        year += 1
    sunday = easter(year)
    assert closed_days(sunday - timedelta(days=7), sunday + timedelta(days=15)) == {
        sunday - timedelta(days=2), sunday + timedelta(days=1)}
    return sunday


def may_day(now: datetime) -> date:
    first = date(now.year + 1, 5, 1)
    day = first + timedelta(days=-first.weekday() % 7)
    assert day in closed_days(day, day)
    return day


# ----- the clock changes --------------------------------------------------------------------------
# - `clocks_go_back`: the last Sunday of October next year (BST ends at 01:00 UTC), with no
#   bank holiday within a week either side; `october_clock_change`: the same Sunday, checked
#   to have no bank holiday from 1 October to 30 November;
# - `clocks_go_forward`: the last Sunday of March next year (BST starts at 01:00 UTC).


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def clocks_go_back(now: datetime) -> date:
    sunday = _last_sunday(now.year + 1, 10)
    assert at(sunday - timedelta(days=1), 12).utcoffset() == timedelta(hours=1)
    assert at(sunday, 12).utcoffset() == timedelta(0)
    assert closed_days(sunday - timedelta(days=7), sunday + timedelta(days=7)) == set()
    return sunday


def october_clock_change(now: datetime) -> date:
    sunday = clocks_go_back(now)
    assert not closed_days(date(sunday.year, 10, 1), date(sunday.year, 11, 30))
    return sunday


def clocks_go_forward(now: datetime) -> date:
    sunday = _last_sunday(now.year + 1, 3)
    assert at(sunday - timedelta(days=1), 12).utcoffset() == timedelta(0)
    assert at(sunday, 12).utcoffset() == timedelta(hours=1)
    return sunday
