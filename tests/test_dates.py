"""The tests' own date tools (tests/dates.py, tests/awkward_days.py), checked on fixed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.awkward_days import awkward_instants
from tests.dates import LONDON, ChosenTodayError, Scene, parse_today

CHRISTMAS_2026 = Scene("Christmas 2026", ((date(2026, 12, 18), date(2027, 1, 8)),),
                       holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)))


def test_a_chosen_today_is_london_time_unless_an_offset_is_written() -> None:
    assert parse_today("2027-06-15T00:30") == datetime(2027, 6, 14, 23, 30, tzinfo=UTC)
    assert parse_today("2027-12-31T23:30") == datetime(2027, 12, 31, 23, 30, tzinfo=UTC)
    assert parse_today("2027-10-31T01:30+01:00") == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert parse_today("2027-10-31T01:30+00:00") == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    with pytest.raises(ChosenTodayError, match="does not exist"):
        parse_today("2027-03-28T01:30")  # the clocks go from 01:00 GMT to 02:00 BST
    with pytest.raises(ChosenTodayError, match="happens twice"):
        parse_today("2027-10-31T01:30")
    with pytest.raises(ChosenTodayError, match="not an ISO 8601"):
        parse_today("next Tuesday")


def test_a_scene_refuses_a_hand_worked_list_that_is_wrong() -> None:
    with pytest.raises(ValueError, match="bank holidays"):
        Scene("Christmas 2026", ((date(2026, 12, 18), date(2027, 1, 8)),),
              holidays=(date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)))
    with pytest.raises(ValueError, match="clocks change"):
        Scene("Easter 2027", ((date(2027, 3, 22), date(2027, 4, 2)),),
              holidays=(date(2027, 3, 26), date(2027, 3, 29)))


def test_a_scene_stays_put_while_it_is_ahead_then_moves_to_the_same_calendar() -> None:
    assert CHRISTMAS_2026.shift_after(datetime(2026, 12, 5, 9, tzinfo=UTC)) == timedelta(0)
    # From 17 Dec 2026 it is too close: the next Christmas on a Friday is in 2037.
    moved = CHRISTMAS_2026.shift_after(datetime(2026, 12, 17, 9, tzinfo=UTC))
    assert date(2026, 12, 25) + moved == date(2037, 12, 25)
    assert (date(2027, 1, 6) + moved).strftime("%a %d %b %Y") == "Wed 06 Jan 2038"


def test_easter_moves_by_weeks_to_an_easter_on_the_day_the_clocks_change() -> None:
    easter = Scene("Easter 2027", ((date(2027, 3, 22), date(2027, 4, 9)),),
                   holidays=(date(2027, 3, 26), date(2027, 3, 29)),
                   clock_changes=(date(2027, 3, 28),))
    moved = easter.shift_after(datetime(2027, 4, 1, tzinfo=UTC))
    assert date(2027, 3, 26) + moved == date(2032, 3, 26)  # Good Friday 2032
    moved = easter.shift_after(datetime(2032, 4, 1, tzinfo=UTC))
    assert date(2027, 3, 26) + moved == date(2035, 3, 23)  # Good Friday 2035, BST from 25 Mar


def test_whole_years_keep_the_day_of_the_month() -> None:
    months = Scene("6 months", ((date(2027, 2, 1), date(2027, 2, 2)),
                                (date(2027, 7, 27), date(2027, 8, 3))), whole_years=True)
    moved = months.shift_after(datetime(2027, 3, 1, tzinfo=UTC))
    assert (date(2027, 2, 1) + moved, date(2027, 8, 1) + moved) == (date(2038, 2, 1),
                                                                    date(2038, 8, 1))


def test_a_scene_moves_its_dates_and_labels_and_refuses_dates_outside_it() -> None:
    scene = Scene(CHRISTMAS_2026.name, CHRISTMAS_2026.spans, CHRISTMAS_2026.holidays)
    scene.__dict__["shift"] = scene.shift_after(datetime(2027, 1, 1, tzinfo=UTC))
    assert scene.local(2026, 12, 18, 10) == datetime(2037, 12, 18, 10, tzinfo=LONDON)
    assert scene.utc(2027, 1, 6, 17) == datetime(2038, 1, 6, 17, tzinfo=UTC)
    assert scene.label("Wed 6 Jan 2027 17:00 GMT") == "Wed 6 Jan 2038 17:00 GMT"
    assert scene.move({"due": (date(2026, 12, 24),)}) == {"due": (date(2037, 12, 24),)}
    with pytest.raises(ValueError, match="is a Wednesday"):
        scene.label("Tue 6 Jan 2027 17:00 GMT")
    with pytest.raises(ValueError, match="outside the scene"):
        scene.day(2027, 3, 1)


def test_the_awkward_instants_are_ahead_and_awkward() -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    instants = {i.name: i for i in awkward_instants(now)}
    assert all(i.at > now + timedelta(days=1) for i in instants.values())
    assert {name: i.value for name, i in instants.items()} == {
        "week-before-christmas-1": "2026-12-21T09:00",
        "week-before-christmas-2": "2027-12-20T09:00",
        "new-year-eve-1": "2026-12-31T23:30",
        "new-year-eve-2": "2027-12-31T23:30",
        "good-friday-1": "2027-03-26T09:00",
        "good-friday-2": "2028-04-14T09:00",
        "clocks-forward-before": "2027-03-28T00:30",
        "clocks-forward-after": "2027-03-28T02:30",
        "friday-before-bank-holiday-1": "2027-04-30T16:30",
        "friday-before-bank-holiday-2": "2027-05-28T16:30",
        "summer-after-midnight": "2027-06-15T00:30",
        "clocks-back-first": "2027-10-31T01:30+01:00",
        "clocks-back-second": "2027-10-31T01:30+00:00",
    }
    # A year on, they have all moved on.
    later = {i.name: i.value for i in awkward_instants(now + timedelta(days=365))}
    assert later["good-friday-1"] == "2028-04-14T09:00"
    assert later["week-before-christmas-1"] == "2027-12-20T09:00"
