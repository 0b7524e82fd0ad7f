"""Deadlines in words for people: "Tue 5 Jan, 17:00 — in 3 working days".

Pure: the caller passes `now` and the closed days (bank holidays and closure days), so the
words never depend on the machine's clock or time zone, and tests can fix both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from models.days import is_working_day, london_date, london_offset
from models.transfer import DeadlineStatus, DeadlineView


def when(due: datetime, now: datetime) -> str:
    """London wall-clock time of `due`: "Tue 5 Jan, 17:00" (with the year when not now's)."""
    wall = due.astimezone(UTC) + london_offset(due)
    year = f" {wall.year}" if london_date(due).year != london_date(now).year else ""
    return f"{wall:%a} {wall.day} {wall:%b}{year}, {wall:%H:%M}"


def working_days_between(first: date, last: date, closed: frozenset[date]) -> int:
    """Working days after `first` up to and including `last` (0 when last <= first)."""
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day, closed):
            count += 1
    return count


def _days(n: int) -> str:
    return f"{n} working day" if n == 1 else f"{n} working days"


def relative(due: datetime, now: datetime, closed: frozenset[date]) -> str:
    """How far off a deadline is, counted in working days in London."""
    today, due_day = london_date(now), london_date(due)
    if due <= now:
        late = working_days_between(due_day, today, closed)
        return "overdue since today" if late == 0 else f"overdue by {_days(late)}"
    ahead = working_days_between(today, due_day, closed)
    return "due today" if ahead == 0 else f"in {_days(ahead)}"


def deadline_words(due: datetime, now: datetime, closed: frozenset[date]) -> str:
    return f"{when(due, now)} — {relative(due, now, closed)}"


def deadline_row(deadline: DeadlineView, now: datetime, closed: frozenset[date]
                 ) -> tuple[str, str]:
    """A deadline's due time in words and its status: how far off only while it still runs
    (pending) or has been missed; a met one is not "overdue" however long ago it fell due."""
    running = deadline.status in (DeadlineStatus.pending, DeadlineStatus.missed)
    due = deadline_words(deadline.due_at, now, closed) if running else when(deadline.due_at, now)
    status = deadline.status.value.replace("_", " ")
    if deadline.paused_at is not None and deadline.status is DeadlineStatus.pending:
        status = "paused"
    elif deadline.extended:
        status = "extended" if deadline.status is DeadlineStatus.pending else \
            f"{status} (extended)"
    return due, status
