"""Seed 003 (the Safeguarding Hub authority): the routes between teams issue 9 added.

Step-down to Early Help when a child protection plan ends (the exit strategy at the final CP
conference with the lead professional, the lead coordinator and team around the child, the
Early Help Assessment registered with the Hub); Adoption Support taking a case over when
another team ceases its involvement, after consulting the Adoption Support Team Manager;
an adopted child handed to Adoption Support at the final CLA review, with the Adoption
Support Team's contribution to the adoption support plan.

Every date is worked out from the time-skipping server's present (tests/seed_scenes.py), so
the tests hold on any day the suite runs: the next Christmas on a Friday (as in 2026), the
next Easter on 28 March (the clocks go forward that morning, as in 2027), the early May
bank holiday and a quiet June. Working days are counted by hand in the comments. Timers are
crossed by moving the server's clock, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from models.transfer import DeadlineStatus, Stage, TransferView
from tests import scenario
from tests.scenario import PROTOCOLS, Scenario, deadline, settled, status
from tests.seed_scenes import at, christmas_on_friday, easter_on_march_28, june_monday, may_day
from tests.transfers import skip_to

A = "safeguarding_hub"
PROTOCOL = PROTOCOLS[A]

STARTED = "transfer proposed to your team"
ACCEPTED = "Receiving Team Manager's decision: accepted"
ALLOCATED = "worker W1 allocated"
MINUTE = timedelta(minutes=1)


def moved(team: str) -> str:
    return f"case transferred to {team}"


async def expect_mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await scenario.expect_mail(mailbox, A, expected)


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime
                 ) -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, A, pathway)
    return s, await s.open(anchor)


def gate(view: TransferView, gate_id: str) -> Any:
    return next(g for g in view.gates if g.id == gate_id)


def task(view: TransferView, task_id: str) -> Any:
    return next(t for t in view.tasks if t.id == task_id)


def missed(name: str) -> Callable[[TransferView], bool]:
    return lambda view: status(view, name) is DeadlineStatus.missed


def titled(pathway: str) -> Any:
    return PROTOCOL.pathways[pathway]


# ----- step-down to Early Help when the child protection plan ends --------------------------

STEP_DOWN = "s-and-p-to-early-help-cp-plan-ended"
CONFERENCE = titled(STEP_DOWN).gates["final_conference"].title
STEPPED_DOWN = titled(STEP_DOWN).deadlines["stepped_down_by"].title
EHA = titled(STEP_DOWN).after_transfer["eha_registered"].title
ATTENDED: dict[str, Any] = {
    "attendees": ["child", "parents", "conference_chair", "s_and_p_social_worker",
                  "lead_professional", "other_agencies"]}


async def test_a_child_steps_down_to_early_help_over_christmas(ts_env, worker, mailbox):
    year = christmas_on_friday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, STEP_DOWN, at(date(year, 12, 21), 10))
    assert [d.id for d in view.deadlines] == []  # no clock until the conference is held
    await skip_to(ts_env, at(date(year, 12, 23), 10))
    kind, words = await s.refused("record-final-cp-conference", "s_and_p-sw",
                                  attendees=["child", "s_and_p_social_worker"],
                                  date=date(year, 12, 22))
    assert kind == "InvalidInput" and "lead_professional" in words
    kind, words = await s.refused("record-final-cp-conference", "s_and_p-sw",
                                  date=date(year, 12, 24), **ATTENDED)
    assert kind == "InvalidInput" and "future" in words
    # Held on Tuesday 22 December: 10 working days from that day are Wed 23 (1), Thu 24
    # (2), Tue 29 (3), Wed 30 (4), Thu 31 (5), Mon 4 Jan (6), Tue 5 (7), Wed 6 (8), Thu 7
    # (9), Fri 8 January (10): 17:00 GMT (25 and 28 December and 1 January are closed).
    view = await s.act("record-final-cp-conference", "s_and_p-sw", date=date(year, 12, 22),
                       **ATTENDED)
    assert gate(view, "final_conference").event_date == date(year, 12, 22)
    assert deadline(view, "stepped_down_by").due_at == at(date(year + 1, 1, 8), 17)
    kind, _ = await s.refused("record-lead-professional", "s_and_p-tm")
    assert kind == "NotPermitted"  # Early Help name the lead coordinator
    await s.act("record-lead-professional", "early_help-sw")
    await skip_to(ts_env, at(date(year + 1, 1, 5), 11))
    view = await s.act("accept", "early_help-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    assert status(view, "stepped_down_by") is DeadlineStatus.met
    # The Early Help Assessment's registration with the Hub is tracked: one reminder 5
    # working days after the step-down (Tue 5 Jan): Tuesday 12 January, 17:00 GMT.
    assert task(view, "eha_registered").remind_at == at(date(year + 1, 1, 12), 17)
    view = await s.act("allocate", "early_help-tm", worker_id="W1")
    assert view.stage is Stage.allocated
    kind, _ = await s.refused("record-eha-registered", "s_and_p-sw")
    assert kind == "NotPermitted"  # the Hub records it
    view = await s.act("record-eha-registered", "hub-sw")
    assert view.stage is Stage.closed
    await expect_mail(mailbox, {
        "early_help-tm": [STARTED, f"{CONFERENCE}: held", moved("early_help")],
        "s_and_p-tm": [ACCEPTED, moved("early_help"), ALLOCATED]})


async def test_a_step_down_not_done_in_10_working_days_after_easter_is_told(
        ts_env, worker, mailbox):
    year = easter_on_march_28(await ts_env.get_current_time())
    thursday = date(year, 3, 25)  # Maundy Thursday
    s, _ = await opened(ts_env, worker, STEP_DOWN, at(thursday, 9))
    await skip_to(ts_env, at(thursday, 16))
    # Held that day: Good Friday and Easter Monday closed, Tue 30 (1), Wed 31 (2), Thu 1 Apr
    # (3), Fri 2 (4), Mon 5 (5), Tue 6 (6), Wed 7 (7), Thu 8 (8), Fri 9 (9), Mon 12 April
    # (10): 17:00 BST (the clocks went forward on the Sunday).
    view = await s.act("record-final-cp-conference", "s_and_p-tm", date=thursday, **ATTENDED)
    due = at(date(year, 4, 12), 17)
    assert deadline(view, "stepped_down_by").due_at == due
    await s.act("record-lead-professional", "early_help-tm")
    await skip_to(ts_env, due - MINUTE)
    assert status(await s.view(), "stepped_down_by") is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, missed("stepped_down_by"))
    assert (view.stage, view.responsible_team) == (Stage.proposed, "s_and_p")
    late = f"deadline missed: {STEPPED_DOWN}"
    expected = {"early_help-tm": [STARTED, f"{CONFERENCE}: held", late],
                "s_and_p-tm": [late]}
    await expect_mail(mailbox, expected)
    kind, _ = await s.refused("accept", "early_help-sw")
    assert kind == "NotPermitted"  # the Early Help Team Manager decides
    view = await s.act("accept", "early_help-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    assert status(view, "stepped_down_by") is DeadlineStatus.met_late
    expected["early_help-tm"].append(moved("early_help"))
    expected["s_and_p-tm"] += [ACCEPTED, moved("early_help")]
    await expect_mail(mailbox, expected)


# ----- Adoption Support takes over when a team ceases its involvement -----------------------

CEASING = {"s-and-p-to-adoption-support-ceasing-involvement": "s_and_p",
           "c-and-f-to-adoption-support-ceasing-involvement": "c_and_f",
           "cla-to-adoption-support-ceasing-involvement": "cla",
           "cwd-to-adoption-support-ceasing-involvement": "cwd"}
CONSULTED = titled("cla-to-adoption-support-ceasing-involvement").gates["consultation"].title
CONSULTED_BY = titled("cla-to-adoption-support-ceasing-involvement").deadlines[
    "consulted_by"].title
CONSULTATION: dict[str, Any] = {
    "attendees": ["sending_team_manager", "adoption_support_team_manager"]}
each_team = pytest.mark.parametrize("pathway", list(CEASING))


@each_team
async def test_adoption_support_takes_over_after_the_consultation_around_may_day(
        ts_env, worker, mailbox, pathway: str):
    team = CEASING[pathway]
    monday = may_day(await ts_env.get_current_time())
    friday = monday - timedelta(days=3)
    s, view = await opened(ts_env, worker, pathway, at(friday, 10))
    # Proposed on the Friday before the May Day bank holiday: Tue (1) ... Fri (4), Mon (5)
    # ... Fri (9), Monday two weeks after May Day (10), 17:00 BST.
    assert deadline(view, "consulted_by").due_at == at(monday + timedelta(days=14), 17)
    kind, words = await s.refused("accept", "adoption_support-tm")
    assert kind == "WrongStage" and CONSULTED in words
    kind, _ = await s.refused("record-adoption-support-consultation", "adoption_support-sw",
                              **CONSULTATION)
    assert kind == "NotPermitted"
    await skip_to(ts_env, at(monday + timedelta(days=2), 10))
    view = await s.act("record-adoption-support-consultation", f"{team}-tm", **CONSULTATION)
    assert gate(view, "consultation").awaiting == ["Team Manager of adoption_support"]
    view = await s.act("record-adoption-support-consultation", "adoption_support-tm",
                       **CONSULTATION)
    assert gate(view, "consultation").done
    assert status(view, "consulted_by") is DeadlineStatus.met
    assert view.stage is Stage.proposed  # Adoption Support still decide
    view = await s.act("accept", "adoption_support-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "adoption_support")
    view = await s.act("allocate", "adoption_support-tm", worker_id="W1")
    assert view.stage is Stage.closed
    await expect_mail(mailbox, {
        "adoption_support-tm": [STARTED, f"your agreement is needed: {CONSULTED}",
                                moved("adoption_support")],
        f"{team}-tm": [ACCEPTED, moved("adoption_support"), ALLOCATED]})


@each_team
async def test_no_consultation_within_10_working_days_over_christmas_is_told(
        ts_env, worker, mailbox, pathway: str):
    team = CEASING[pathway]
    year = christmas_on_friday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, pathway, at(date(year, 12, 21), 10))
    # Proposed Monday 21 December: Tue 22 (1), Wed 23 (2), Thu 24 (3), Tue 29 (4), Wed 30
    # (5), Thu 31 (6), Mon 4 Jan (7), Tue 5 (8), Wed 6 (9), Thu 7 January (10), 17:00 GMT.
    due = at(date(year + 1, 1, 7), 17)
    assert deadline(view, "consulted_by").due_at == due
    await s.act("record-adoption-support-consultation", f"{team}-tm", **CONSULTATION)
    await skip_to(ts_env, due - MINUTE)
    assert status(await s.view(), "consulted_by") is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, missed("consulted_by"))
    assert (view.stage, view.responsible_team) == (Stage.proposed, team)
    late = f"deadline missed: {CONSULTED_BY}"
    await expect_mail(mailbox, {
        "adoption_support-tm": [STARTED, f"your agreement is needed: {CONSULTED}", late],
        f"{team}-tm": [late]})


# ----- post-adoption support: at the final CLA review ---------------------------------------

POST_ADOPTION = "cla-to-adoption-support-post-adoption"
PLAN = titled(POST_ADOPTION).gates["support_plan"].title
REVIEW: dict[str, Any] = {
    "attendees": ["child", "adopters", "iro", "cla_social_worker",
                  "adoption_support_representative"]}


async def test_an_adopted_child_goes_to_adoption_support_at_the_final_cla_review(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, POST_ADOPTION, at(monday, 10))
    assert view.deadlines == []  # the seed gives no time
    kind, words = await s.refused("record-final-cla-review", "iro", **REVIEW)
    assert kind == "WrongStage" and PLAN in words  # the plan first
    kind, _ = await s.refused("record-support-plan-contribution", "cla-sw")
    assert kind == "NotPermitted"  # Adoption Support's own contribution
    await s.act("record-support-plan-contribution", "adoption_support-sw")
    await s.act("accept", "adoption_support-tm")
    await skip_to(ts_env, at(monday + timedelta(days=9), 14))
    view = await s.act("record-final-cla-review", "iro", **REVIEW)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "adoption_support")
    view = await s.act("allocate", "adoption_support-tm", worker_id="W1")
    assert view.stage is Stage.closed
    await expect_mail(mailbox, {"adoption_support-tm": [STARTED, moved("adoption_support")],
                                "cla-tm": [ACCEPTED, moved("adoption_support"), ALLOCATED]})


async def test_the_final_cla_review_counts_only_with_adoption_support_there(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, POST_ADOPTION, at(monday, 10))
    await s.act("record-support-plan-contribution", "adoption_support-tm")
    await s.act("accept", "adoption_support-tm")
    absent = [a for a in REVIEW["attendees"] if a != "adoption_support_representative"]
    kind, words = await s.refused("record-final-cla-review", "cla-sw", attendees=absent)
    assert kind == "InvalidInput" and "adoption_support_representative" in words
    # Without the review the child stays with CLA, however long it takes; nobody is told.
    await skip_to(ts_env, at(monday + timedelta(days=60), 10))
    view = await s.view()
    assert (view.stage, view.responsible_team) == (Stage.proposed, "cla")
    assert not gate(view, "final_review").done
    await expect_mail(mailbox, {"adoption_support-tm": [STARTED], "cla-tm": [ACCEPTED]})
