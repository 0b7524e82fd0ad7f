"""A transfer never counts a day it does not know, and "today" is the London date.

Found by checking against GOV.UK's own bank-holiday list: a transfer froze the bank
holidays of its first three years and treated every later date as a working day; and the
validators took "today" as the UTC date, a day behind London between 00:00 and 01:00 BST.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from activities.deadlines import DeadlinePlanner, resolve_calendar
from models.days import london_date, london_offset
from models.protocol import Calendar, Duration, DurationUnit
from models.transfer import PlanDate, PlanItem, PlanRequest

LONDON = ZoneInfo("Europe/London")
TEN_WORKING_DAYS = Duration(amount=10, unit=DurationUnit.working_days)


def plan(resolved, *items, dates=()):
    return DeadlinePlanner().plan(PlanRequest(calendar=Calendar(), resolved=resolved,
                                              items=list(items), dates=list(dates)))


def test_a_date_past_the_frozen_years_is_counted_on_its_own_bank_holidays() -> None:
    # A transfer started in late 2026 froze 2026-2028.
    frozen = resolve_calendar(Calendar(), 2026)
    assert (frozen.first_year, frozen.last_year) == (2026, 2028)
    start = datetime(2028, 12, 20, 11, 0, tzinfo=LONDON)  # Wed 20 Dec 2028
    result = plan(frozen, PlanItem(name="duty", start=start, within=TEN_WORKING_DAYS))
    # 25, 26 Dec 2028 and Mon 1 Jan 2029 are bank holidays: the 10th working day is Mon 8 Jan
    # 2029 (counting 2029 as if it had no bank holidays gives Fri 5 Jan).
    assert result.dues[0].due_at == datetime(2029, 1, 8, 17, 0, tzinfo=UTC)
    # The extended calendar comes back, to be recorded in the transfer's history; the years
    # it knew are unchanged, and it knows the year after the date it planned.
    assert result.resolved is not None
    assert (result.resolved.first_year, result.resolved.last_year) == (2026, 2030)
    assert result.resolved.non_working_dates[:len(frozen.non_working_dates)] == \
        frozen.non_working_dates
    assert date(2029, 3, 30) in result.resolved.non_working_dates  # Good Friday 2029
    assert date(2029, 4, 2) in result.resolved.non_working_dates  # Easter Monday 2029


def test_good_friday_2029_is_not_a_working_day_for_a_transfer_from_2026() -> None:
    frozen = resolve_calendar(Calendar(), 2026)
    # Thu 29 Mar 2029 + 1 working day: not Good Friday 30 Mar, not Easter Monday 2 Apr.
    start = datetime(2029, 3, 29, 9, 0, tzinfo=LONDON)
    result = plan(frozen, PlanItem(name="d", start=start,
                                   within=Duration(amount=1, unit=DurationUnit.working_days)))
    assert result.dues[0].due_at == datetime(2029, 4, 3, 16, 0, tzinfo=UTC)  # 17:00 BST


def test_a_plan_within_the_known_years_sends_no_calendar_back() -> None:
    frozen = resolve_calendar(Calendar(), 2026)
    start = datetime(2027, 3, 1, 9, 0, tzinfo=LONDON)
    result = plan(frozen, PlanItem(name="d", start=start, within=TEN_WORKING_DAYS),
                  dates=[PlanDate(name="d2", day=date(2027, 6, 1))])
    assert result.resolved is None  # nothing new to record


def test_an_earlier_year_is_added_when_a_date_before_the_calendar_is_planned() -> None:
    frozen = resolve_calendar(Calendar(), 2027)
    start = datetime(2026, 12, 24, 12, 0, tzinfo=LONDON)  # an event recorded with its date
    result = plan(frozen, PlanItem(name="d", start=start, within=TEN_WORKING_DAYS))
    assert result.dues[0].due_at == datetime(2027, 1, 12, 17, 0, tzinfo=UTC)
    assert result.resolved is not None and result.resolved.first_year == 2026
    assert date(2026, 12, 28) in result.resolved.non_working_dates  # Boxing Day substitute


@pytest.mark.parametrize("year", range(1996, 2041))
def test_london_offset_matches_the_tz_database(year: int) -> None:
    # Every half hour of the two clock-change weekends, and the hours either side.
    for month in (3, 10):
        day = datetime(year, month, 24, tzinfo=UTC)
        for step in range(8 * 48):
            moment = day + timedelta(minutes=30 * step)
            assert london_offset(moment) == moment.astimezone(LONDON).utcoffset(), moment
            assert london_date(moment) == moment.astimezone(LONDON).date(), moment


def test_london_date_is_a_day_ahead_of_utc_just_after_midnight_bst() -> None:
    moment = datetime(2027, 7, 14, 23, 30, tzinfo=UTC)  # 00:30 BST on Thu 15 Jul 2027
    assert moment.date() == date(2027, 7, 14)
    assert london_date(moment) == date(2027, 7, 15)
    assert london_date(datetime(2027, 1, 14, 23, 30, tzinfo=UTC)) == date(2027, 1, 14)  # GMT
