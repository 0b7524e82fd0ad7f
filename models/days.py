"""Date arithmetic over a set of closed dates: pure, so both the planner activity and the
workflow's validators (which must not touch time zones or the holidays package) use it."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


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
