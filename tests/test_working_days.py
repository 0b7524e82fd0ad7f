"""Due-time arithmetic: every expectation below is worked out by hand from a printed calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter
from temporalio.testing import ActivityEnvironment

from activities.deadlines import DeadlinePlanner
from activities.working_days import due_at, local_label, non_working_dates
from models.protocol import Calendar, Duration, DurationField
from models.transfer import PlanDate, PlanItem, PlanRequest

LONDON = ZoneInfo("Europe/London")
CAL = Calendar()
BANK_HOLIDAYS_2026_2028 = [
    date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4),
    date(2026, 5, 25), date(2026, 8, 31), date(2026, 12, 25), date(2026, 12, 28),
    date(2027, 1, 1), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 3),
    date(2027, 5, 31), date(2027, 8, 30), date(2027, 12, 27), date(2027, 12, 28),
    date(2028, 1, 3), date(2028, 4, 14), date(2028, 4, 17), date(2028, 5, 1),
    date(2028, 5, 29), date(2028, 8, 28), date(2028, 12, 25), date(2028, 12, 26),
]  # fmt: skip


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def within(text: str) -> Duration:
    return TypeAdapter(DurationField).validate_python(text)


def due(start: datetime, text: str, calendar: Calendar = CAL) -> datetime:
    closed = frozenset(non_working_dates(calendar, range(start.year, start.year + 2)))
    return due_at(start, within(text), calendar, closed)


@pytest.mark.parametrize(
    ("start", "text", "expected"),
    [
        # Christmas Fri 25 Dec, Boxing Day substitute Mon 28 Dec 2026, New Year Fri 1 Jan 2027
        (london(2026, 12, 18, 10), "10 working days", utc(2027, 1, 6, 17)),
        # Christmas/Boxing Day substitutes Mon 27 & Tue 28 Dec 2027, New Year Mon 3 Jan 2028
        (london(2027, 12, 17, 10), "10 working days", utc(2028, 1, 5, 17)),
        # Easter 2027: Good Friday 26 Mar and Easter Monday 29 Mar skipped; BST from 28 Mar
        (london(2027, 3, 24, 9), "3 working days", utc(2027, 3, 31, 16)),
        (london(2027, 3, 24, 9), "5 working days", utc(2027, 4, 2, 16)),
        # day 0 is the local date, whatever the hour
        (london(2027, 1, 15, 23, 30), "1 working day", utc(2027, 1, 18, 17)),  # Fri late
        (london(2027, 1, 15, 18), "1 working day", utc(2027, 1, 18, 17)),  # Fri after 17:00
        (london(2027, 1, 15, 9), "1 working day", utc(2027, 1, 18, 17)),  # Fri morning
        (london(2027, 1, 16, 10), "1 working day", utc(2027, 1, 18, 17)),  # Sat: day 1 is Mon
        (london(2027, 1, 16, 10), "2 working days", utc(2027, 1, 19, 17)),
        (utc(2026, 6, 11, 23, 30), "1 working day", utc(2026, 6, 15, 16)),  # Fri 00:30 BST
        (london(2026, 6, 12, 23, 30), "1 working day", utc(2026, 6, 15, 16)),  # Fri 23:30 BST
        # summer: end of working day is 17:00 BST = 16:00 UTC
        (london(2026, 7, 6, 9), "5 working days", utc(2026, 7, 13, 16)),
        # elapsed hours across the clock changes (back Sun 25 Oct 2026, forward Sun 28 Mar 2027)
        (london(2026, 10, 23, 12), "72 hours", utc(2026, 10, 26, 11)),
        (london(2027, 3, 27, 12), "48 hours", utc(2027, 3, 29, 12)),
        # calendar weeks and days: end of working day on day 0 + N, weekend or holiday or not
        (london(2027, 1, 12, 14), "6 weeks", utc(2027, 2, 23, 17)),
        (london(2027, 1, 13, 14), "10 days", utc(2027, 1, 23, 17)),  # a Saturday
        (london(2026, 12, 15, 14), "10 days", utc(2026, 12, 25, 17)),  # Christmas Day
    ],
)
def test_due_at(start: datetime, text: str, expected: datetime) -> None:
    assert due(start, text) == expected


def test_local_closure_days_are_skipped() -> None:
    closures = Calendar(closure_days=[date(2026, 12, 24), date(2026, 12, 27)])  # Thu; Sun
    assert due(london(2026, 12, 18, 10), "10 working days", closures) == utc(2027, 1, 7, 17)
    assert date(2026, 12, 24) in non_working_dates(closures, [2026])
    assert date(2026, 12, 27) not in non_working_dates(closures, [2026])


def test_non_working_dates_have_substitutes_and_no_weekends() -> None:
    # weekend-dated holidays (26 Dec 2026, 25-26 Dec 2027, 1 Jan 2028) are replaced by substitutes
    assert non_working_dates(CAL, [2026, 2027, 2028]) == BANK_HOLIDAYS_2026_2028


def test_local_label() -> None:
    assert local_label(utc(2027, 1, 6, 17), CAL) == "Wed 6 Jan 2027 17:00 GMT"
    assert local_label(utc(2026, 7, 13, 16), CAL) == "Mon 13 Jul 2026 17:00 BST"


def test_planner_freezes_the_calendar_it_starts_with() -> None:
    planner = DeadlinePlanner()
    request = PlanRequest(
        calendar=CAL,
        items=[
            PlanItem(name="transfer_by", start=london(2026, 12, 18, 10), within="10 working days")
        ],
        dates=[PlanDate(name="agreed", day=date(2027, 7, 2))],
    )
    result = ActivityEnvironment().run(planner.plan, request)
    assert result.resolved is not None
    assert (result.resolved.first_year, result.resolved.last_year) == (2026, 2028)
    assert result.resolved.non_working_dates == BANK_HOLIDAYS_2026_2028
    assert [(d.name, d.due_at, d.due_local) for d in result.dues] == [
        ("transfer_by", utc(2027, 1, 6, 17), "Wed 6 Jan 2027 17:00 GMT"),
        ("agreed", utc(2027, 7, 2, 16), "Fri 2 Jul 2027 17:00 BST"),
    ]

    # A running transfer passes its frozen calendar back: what it says is what counts,
    # even when the protocol's calendar has changed since.
    frozen = [d for d in BANK_HOLIDAYS_2026_2028 if d != date(2026, 12, 28)]
    edited = result.resolved.model_copy(update={"non_working_dates": frozen})
    again = request.model_copy(
        update={
            "resolved": edited,
            "calendar": Calendar(closure_days=[date(2026, 12, 29)]),
        }
    )
    second = ActivityEnvironment().run(planner.plan, again)
    # The caller holds its calendar: it is not sent back (it would only grow the history).
    assert second.resolved is None
    [replanned, _] = second.dues
    assert (replanned.due_at, replanned.due_local) == (
        utc(2027, 1, 5, 17),
        "Tue 5 Jan 2027 17:00 GMT",
    )
