"""Due-time arithmetic over a frozen calendar. Pure functions; used by the planner activity.

How deadlines are counted (the same words are in the README):

* **Day 0** is the local (Europe/London) calendar date on which the clock starts,
  whatever the time of day and whether or not it is a working day.
* **N working days** fall due at the end of the working day (the protocol's
  `working_day_ends`, 17:00 by default) on the Nth working day after day 0.
  A working day is Monday to Friday, not an England & Wales bank holiday
  (substitute days included) and not one of the protocol's local closure days.
* **N days / N weeks** are calendar days: due at the end of the working day on
  day 0 + N days (7 × N for weeks), whether or not that date is a working day.
* **N months** are calendar months: due at the end of the working day on the
  same day of the month N months on (the month's last day if it is shorter).
* **N hours** are elapsed hours: start + N × 3600 s, so a clock change in
  between neither adds nor removes an hour.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from models.days import add_months, add_working_days
from models.protocol import Calendar, Duration, DurationUnit


def non_working_dates(calendar: Calendar, years: Iterable[int]) -> list[date]:
    """Bank holidays (with substitute days) and local closure days, weekdays only, sorted."""
    bank = holidays.country_holidays("GB", subdiv="ENG", years=list(years))
    days = set(bank) | set(calendar.closure_days)
    return sorted(d for d in days if d.weekday() < 5)


def end_of_day(day: date, calendar: Calendar) -> datetime:
    return datetime.combine(day, calendar.working_day_ends, tzinfo=ZoneInfo(calendar.timezone))


def due_at(start: datetime, within: Duration, calendar: Calendar, closed: frozenset[date]
           ) -> datetime:
    """When a clock started at `start` runs out, as an aware UTC datetime."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if within.unit is DurationUnit.hours:
        # in UTC: aware arithmetic in a zone with a clock change adds wall-clock hours
        return start.astimezone(ZoneInfo("UTC")) + timedelta(hours=within.amount)
    day0 = start.astimezone(ZoneInfo(calendar.timezone)).date()
    if within.unit is DurationUnit.working_days:
        day = add_working_days(day0, within.amount, closed)
    elif within.unit is DurationUnit.months:
        day = add_months(day0, within.amount)
    else:
        per = 7 if within.unit is DurationUnit.weeks else 1
        day = day0 + timedelta(days=within.amount * per)
    return end_of_day(day, calendar).astimezone(ZoneInfo("UTC"))


def local_label(moment: datetime, calendar: Calendar) -> str:
    """`Wed 6 Jan 2027 17:00 GMT`: how a person in the authority reads a due time."""
    local = moment.astimezone(ZoneInfo(calendar.timezone))
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {local.tzname()}"
