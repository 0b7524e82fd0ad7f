"""Deadline planning: the only place that knows about bank holidays and time zones.

It runs as an activity because the `holidays` package and ZoneInfo do not work
inside the workflow sandbox, and so that every computed due time is recorded
in the workflow's history: a later change of calendar or library never
changes a running transfer's deadlines by replay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from temporalio import activity

from activities.working_days import due_at, end_of_day, local_label, non_working_dates
from models.protocol import Calendar
from models.transfer import PlannedDue, PlanRequest, PlanResult, ResolvedCalendar

# A transfer's calendar is frozen for the year it starts in and the next two. A transfer that
# runs longer (a post-transfer duty, a ladder, a follow-up years on) has it extended when a
# date it plans reaches past the last year it knows: the years it already knows never change,
# and the extension is recorded in its history like every plan. It always knows the year
# after the latest date it planned, so a date a manager gives later can be checked.
YEARS_FROZEN = 3


def resolve_calendar(calendar: Calendar, first_year: int) -> ResolvedCalendar:
    last_year = first_year + YEARS_FROZEN - 1
    return ResolvedCalendar(
        spec=calendar,
        first_year=first_year,
        last_year=last_year,
        non_working_dates=non_working_dates(calendar, range(first_year, last_year + 1)),
    )


def extend_calendar(resolved: ResolvedCalendar, first_year: int, last_year: int
                    ) -> ResolvedCalendar:
    """The same frozen dates, with those of the years before and after them it now needs."""
    first, last = min(first_year, resolved.first_year), max(last_year, resolved.last_year)
    before = non_working_dates(resolved.spec, range(first, resolved.first_year))
    after = non_working_dates(resolved.spec, range(resolved.last_year + 1, last + 1))
    return resolved.model_copy(update={
        "first_year": first, "last_year": last,
        "non_working_dates": [*before, *resolved.non_working_dates, *after]})


def _years_asked(request: PlanRequest) -> list[int]:
    return [i.start.year for i in request.items] + [d.day.year for d in request.dates] \
        + [i.at.year for i in request.instants]


def _plan(request: PlanRequest, resolved: ResolvedCalendar) -> list[tuple[str, datetime]]:
    closed = frozenset(resolved.non_working_dates)
    cal = resolved.spec
    moments = [(i.name, due_at(i.start, i.within, cal, closed)) for i in request.items]
    moments += [(d.name, end_of_day(d.day, cal).astimezone(UTC)) for d in request.dates]
    moments += [(i.name, i.at) for i in request.instants]
    return moments


class DeadlinePlanner:
    @activity.defn(name="plan_deadlines")
    def plan(self, request: PlanRequest) -> PlanResult:
        resolved = request.resolved
        if resolved is None:
            resolved = resolve_calendar(request.calendar, min(_years_asked(request)))
        cal = resolved.spec
        local = ZoneInfo(cal.timezone)
        known = resolved
        earliest = min(_years_asked(request), default=resolved.first_year)
        if earliest < resolved.first_year:  # e.g. an event recorded with an earlier date
            resolved = extend_calendar(resolved, earliest, resolved.last_year)
        while True:
            # A working-day count that ends within the known years only crossed known days.
            moments = _plan(request, resolved)
            latest = max([m.astimezone(local).year for _, m in moments], default=0)
            if latest < resolved.last_year:
                break
            resolved = extend_calendar(resolved, resolved.first_year, latest + 1)
        # Due times carry the authority's local offset, as people will read them.
        dues = [PlannedDue(name=n, due_at=m.astimezone(local), due_local=local_label(m, cal))
                for n, m in moments]
        # The caller already holds the calendar it sent: unless it was extended, sending it
        # back would only add bytes to the transfer's history.
        unchanged = request.resolved is not None and resolved is known
        return PlanResult(resolved=None if unchanged else resolved, dues=dues)
