"""Deadline planning: the only place that knows about bank holidays and time zones.

It runs as an activity because the `holidays` package and ZoneInfo do not work
inside the workflow sandbox, and so that every computed due time is recorded
in the workflow's history: a later change of calendar or library never
changes a running transfer's deadlines by replay.
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from temporalio import activity

from activities.working_days import due_at, end_of_day, local_label, non_working_dates
from models.protocol import Calendar
from models.transfer import PlannedDue, PlanRequest, PlanResult, ResolvedCalendar

# A transfer's calendar is frozen for the year it starts in and the next two:
# longer than any transfer and its post-transfer duties run.
YEARS_FROZEN = 3


def resolve_calendar(calendar: Calendar, first_year: int) -> ResolvedCalendar:
    last_year = first_year + YEARS_FROZEN - 1
    return ResolvedCalendar(
        spec=calendar,
        first_year=first_year,
        last_year=last_year,
        non_working_dates=non_working_dates(calendar, range(first_year, last_year + 1)),
    )


class DeadlinePlanner:
    @activity.defn(name="plan_deadlines")
    def plan(self, request: PlanRequest) -> PlanResult:
        resolved = request.resolved
        if resolved is None:
            years = [i.start.year for i in request.items] + [d.day.year for d in request.dates] \
                + [i.at.year for i in request.instants]
            first = min(years)
            resolved = resolve_calendar(request.calendar, first)
        closed = frozenset(resolved.non_working_dates)
        cal = resolved.spec
        moments = [(i.name, due_at(i.start, i.within, cal, closed)) for i in request.items]
        moments += [(d.name, end_of_day(d.day, cal).astimezone(UTC)) for d in request.dates]
        moments += [(i.name, i.at) for i in request.instants]
        # Due times carry the authority's local offset, as people will read them.
        local = ZoneInfo(cal.timezone)
        dues = [PlannedDue(name=n, due_at=m.astimezone(local), due_local=local_label(m, cal))
                for n, m in moments]
        # The caller already holds a calendar it sent: sending it back would only add bytes to
        # the transfer's history.
        return PlanResult(resolved=None if request.resolved else resolved, dues=dues)
