"""Date arithmetic over a set of closed dates: pure, so both the planner activity and the
workflow's validators (which must not touch time zones or the holidays package) use it."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta


def is_working_day(day: date, closed: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in closed


def add_working_days(day0: date, n: int, closed: frozenset[date]) -> date:
    """The nth working day after day0 (day0 itself is day 0, whatever it is)."""
    day = day0
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day, closed):
            counted += 1
    return day


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day if it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def first_working_day_on_or_after(day: date, closed: frozenset[date]) -> date:
    while not is_working_day(day, closed):
        day += timedelta(days=1)
    return day


def last_working_day_on_or_before(day: date, closed: frozenset[date]) -> date:
    while not is_working_day(day, closed):
        day -= timedelta(days=1)
    return day


def subtract_working_days(day: date, n: int, closed: frozenset[date]) -> date:
    """The nth working day before `day`."""
    counted = 0
    while counted < n:
        day -= timedelta(days=1)
        if is_working_day(day, closed):
            counted += 1
    return day


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() + 1) % 7)


def london_offset(moment: datetime) -> timedelta:
    """UK civil time's offset from UTC at `moment`: summer time (BST, +1 h) runs from 01:00 UTC
    on the last Sunday of March to 01:00 UTC on the last Sunday of October (the Summer Time
    Order 2002). Pure, so the workflow can use it where ZoneInfo is not available; a test
    checks it against the tz database."""
    utc = moment.astimezone(UTC)
    starts = datetime.combine(_last_sunday(utc.year, 3), time(1), tzinfo=UTC)
    ends = datetime.combine(_last_sunday(utc.year, 10), time(1), tzinfo=UTC)
    return timedelta(hours=1) if starts <= utc < ends else timedelta(0)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def london_instant(day: date, at: time) -> datetime:
    """The UTC instant of a London wall-clock time (not one in the hour the clocks change)."""
    guess = datetime.combine(day, at, tzinfo=UTC)
    return guess - london_offset(guess)


def weekly_instants(now: datetime, weekday: str, at: time,
                    closed: frozenset[date]) -> tuple[datetime, datetime]:
    """A weekly time (e.g. papers due Monday 10:00, on the next working day when that day is
    closed): its latest instant at or before `now`, and its next one after."""
    today = london_date(now)
    monday = today - timedelta(days=today.weekday())

    def of_week(first: date) -> datetime:
        nominal = first + timedelta(days=WEEKDAYS.index(weekday))
        return london_instant(first_working_day_on_or_after(nominal, closed), at)

    weeks = [of_week(monday + timedelta(weeks=n)) for n in (-1, 0, 1)]
    latest = max(w for w in weeks if w <= now)
    return latest, min(w for w in weeks if w > now)


def london_label(moment: datetime) -> str:
    """`Mon 7 Jun 2027 10:00 BST`: London wall-clock time, without the tz database (the
    planner's `local_label` says the same with it)."""
    offset = london_offset(moment)
    wall = moment.astimezone(UTC) + offset
    return f"{wall:%a} {wall.day} {wall:%b %Y %H:%M} {'BST' if offset else 'GMT'}"


def london_date(moment: datetime) -> date:
    """The date in London at `moment` (between 00:00 and 01:00 BST it is a day ahead of UTC)."""
    return (moment.astimezone(UTC) + london_offset(moment)).date()
