"""A weekly meeting's cut-off for papers (St Helens: "filed ... by 10.00am every Monday
morning"): papers filed after a week's cut-off are held over, so the meeting cannot consider
the case until the next week's. On testshire's `weekly-panel`, and the pure instants it uses.

Dates: the first Monday of June next year (no bank holiday or clock change near) and an early
Easter (its Monday closed, so the papers are due on the Tuesday), whatever day the suite runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from models.days import weekly_instants
from models.transfer import Stage
from ops.demo import seed_demo_directory
from tests.scenario import Scenario
from tests.seed_scenes import at, closed_days, early_easter, june_monday
from tests.test_engine_capabilities import TESTSHIRE
from tests.transfers import keep_history, skip_to

T = "testshire"
TEN = time(10)


@pytest.fixture(autouse=True)
def testshire_staff(directory_engine):
    seed_demo_directory(directory_engine, {T: TESTSHIRE})


async def panel(ts_env, worker, anchor: datetime) -> Scenario:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, T, "weekly-panel", protocol=TESTSHIRE)
    await s.open(anchor)
    return s


async def test_papers_filed_after_ten_on_monday_wait_for_next_weeks_panel(ts_env, worker):
    monday = june_monday(await ts_env.get_current_time())
    s = await panel(ts_env, worker, at(monday, 9))
    await skip_to(ts_env, at(monday, 10, 30))
    await s.act("file-papers", "alpha-tm")
    await skip_to(ts_env, at(monday, 14))
    kind, message = await s.refused("record-panel", "hos-1")
    assert kind == "WrongStage"
    next_monday = monday + timedelta(days=7)
    assert message == (
        f"Held over: the papers were filed at {monday:%a} {monday.day} {monday:%b %Y} 10:30 "
        f"BST, after the cut-off for this week's Weekly transfer panel ({monday:%a} "
        f"{monday.day} {monday:%b %Y} 10:00 BST); the case goes to the next one, papers due "
        f"{next_monday:%a} {next_monday.day} {next_monday:%b %Y} 10:00 BST")
    # Still held over on Friday; considered at next Monday's panel.
    await skip_to(ts_env, at(monday + timedelta(days=4), 15))
    assert (await s.refused("record-panel", "hos-1"))[0] == "WrongStage"
    await skip_to(ts_env, at(next_monday, 11))
    view = await s.act("record-panel", "hos-1")
    assert view.stage is Stage.transferred
    await keep_history(s.handle, "engine/weekly-panel")


async def test_papers_in_by_ten_are_considered_the_same_day(ts_env, worker):
    monday = june_monday(await ts_env.get_current_time())
    s = await panel(ts_env, worker, at(monday, 8))
    await skip_to(ts_env, at(monday, 9, 59))
    await s.act("file-papers", "alpha-tm")
    await skip_to(ts_env, at(monday, 10, 30))
    view = await s.act("record-panel", "hos-1")
    assert view.stage is Stage.transferred


async def test_after_a_bank_holiday_monday_the_papers_are_due_on_tuesday(ts_env, worker):
    easter = early_easter(await ts_env.get_current_time())
    monday, tuesday = easter + timedelta(days=1), easter + timedelta(days=2)
    assert monday in closed_days(monday, monday)
    s = await panel(ts_env, worker, at(monday, 12))
    await skip_to(ts_env, at(tuesday, 9, 45))  # Easter Monday is closed: Tuesday 10:00 counts
    await s.act("file-papers", "alpha-tm")
    await skip_to(ts_env, at(tuesday, 14))
    view = await s.act("record-panel", "hos-1")
    assert view.stage is Stage.transferred


def test_the_cut_off_instants_either_side_of_now_keep_london_time() -> None:
    # Across the October clock change of 2027 (Sun 31 Oct): Mon 25 Oct 10:00 BST is 09:00
    # UTC, Mon 1 Nov 10:00 GMT is 10:00 UTC.
    now = datetime(2027, 10, 28, 12, tzinfo=UTC)
    latest, following = weekly_instants(now, "monday", TEN, frozenset())
    assert (latest, following) == (datetime(2027, 10, 25, 9, tzinfo=UTC),
                                   datetime(2027, 11, 1, 10, tzinfo=UTC))
    # On the day, before and after 10:00 (Mon 7 Jun 2027, BST).
    before = datetime(2027, 6, 7, 8, 59, tzinfo=UTC)
    assert weekly_instants(before, "monday", TEN, frozenset())[1] == before + timedelta(minutes=1)
    assert weekly_instants(before + timedelta(minutes=1), "monday", TEN, frozenset())[0] == \
        before + timedelta(minutes=1)
    # A closed Monday (Easter Monday 29 Mar 2027) moves it to Tuesday, in BST.
    closed = frozenset({date(2027, 3, 26), date(2027, 3, 29)})
    assert weekly_instants(datetime(2027, 3, 29, 12, tzinfo=UTC), "monday", TEN, closed) == (
        datetime(2027, 3, 22, 10, tzinfo=UTC), datetime(2027, 3, 30, 9, tzinfo=UTC))
