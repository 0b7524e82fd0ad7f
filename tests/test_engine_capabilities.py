"""What the engine can say that the seeds need, each on a small pathway of its own.

`tests/protocols/testshire.yaml` has one pathway per capability. The transfers run on the
time-skipping server, moved first to a Monday in June of next year (no bank holiday and no
clock change within weeks of it, whatever day the suite runs); due times are worked out by
hand from that Monday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.easter import easter
from temporalio.client import WorkflowUpdateFailedError

from api.starting import start_problem
from models.protocol_files import load_protocol
from models.transfer import DeadlineStatus, GateAction, Stage, TransferView
from ops.demo import seed_demo_directory
from tests.scenario import Scenario, deadline, expect_mail, settled, staff
from tests.transfers import events, keep_history, skip_to
from workflows.case_transfer import CaseTransferWorkflow

T = "testshire"
TESTSHIRE = load_protocol(Path(__file__).parent / "protocols" / "testshire.yaml")
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def testshire_staff(directory_engine):
    seed_demo_directory(directory_engine, {T: TESTSHIRE})


def june_monday(now: datetime) -> datetime:
    """09:00 on the first Monday of June next year: weeks from any bank holiday or clock change
    (the spring bank holiday is the last Monday of May, the summer one the last of August)."""
    first = date(now.year + 1, 6, 1)
    monday = first + timedelta(days=-first.weekday() % 7)
    return datetime.combine(monday, time(9), tzinfo=LONDON)


def at_17(day: date) -> datetime:
    return datetime.combine(day, time(17), tzinfo=LONDON).astimezone(UTC)


async def opened(ts_env, worker, pathway: str, **kw: Any) -> tuple[Scenario, TransferView]:
    anchor = june_monday(await ts_env.get_current_time())
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, T, pathway, protocol=TESTSHIRE)
    return s, await s.open(anchor, **kw)


def gate_of(view: TransferView, gate_id: str):
    return next(g for g in view.gates if g.id == gate_id)


# ----- 1. joint decisions -------------------------------------------------------------------

async def test_a_joint_decision_needs_every_party(ts_env, worker, directory_engine, mailbox):
    s, view = await opened(ts_env, worker, "joint")
    view = await s.act("agree", "alpha-tm")
    decision = gate_of(view, "decision")
    assert not decision.done and view.stage is Stage.proposed
    assert [a.party for a in decision.agreed] == ["team_manager@from"]
    assert decision.awaiting == ["Team Manager of beta"]
    assert view.waiting_for == ["Managers' joint decision to transfer (Team Manager of beta)"]
    # One side cannot take the decision alone, however often it says so.
    kind, words = await s.refused("agree", "alpha-tm")
    assert kind == "WrongStage" and "waits for the Team Manager of beta" in words
    view = await s.act("agree", "beta-tm")
    assert gate_of(view, "decision").done
    assert (view.stage, view.responsible_team) == (Stage.transferred, "beta")
    kinds = [e.kind for e in events(directory_engine, view.run_id)]
    assert kinds == ["started", "agreed:decision", "gate:decision:agreed", "transferred"]
    await keep_history(s.handle, "engine/joint")
    await expect_mail(mailbox, T, {"beta-tm": ["your agreement is needed: Managers' joint "
                                               "decision to transfer"]}, TESTSHIRE)


async def test_either_party_to_a_joint_decision_may_dispute_it(ts_env, worker):
    s, _ = await opened(ts_env, worker, "joint")
    await s.act("agree", "alpha-tm")
    view = await s.act("dispute", "beta-tm", note="not ready")
    assert view.stage is Stage.disputed and view.responsible_team == "alpha"


async def test_a_joint_decision_needs_the_same_answer_from_each(ts_env, worker):
    s, _ = await opened(ts_env, worker, "joint-answers")
    await s.act("agree-direct", "alpha-tm")
    kind, words = await s.refused("agree-via-meeting", "beta-tm")
    assert kind == "WrongStage" and "agreed to 'direct'" in words
    view = await s.act("agree-direct", "beta-tm")
    assert gate_of(view, "route").outcome == "direct" and view.stage is Stage.transferred


# ----- the ladder: the relevant Heads of Service, and no level the seed does not name -------

async def test_the_last_level_has_its_own_time_and_is_the_relevant_heads_of_service(
        ts_env, worker, directory_engine, mailbox):
    s, view = await opened(ts_env, worker, "joint")
    disputed = await s.act("dispute", "beta-tm", note="not ready")
    assert disputed.dispute is not None
    started = disputed.dispute.started_at
    await skip_to(ts_env, started + timedelta(hours=24, minutes=1))
    view = await settled(s, lambda v: v.escalation_level == 2)
    assert view.dispute is not None
    assert view.dispute.level_due_at == started + timedelta(hours=48)
    await skip_to(ts_env, started + timedelta(hours=48, minutes=1))
    view = await settled(s, lambda v: v.dispute is not None and v.dispute.level_due_at is None)
    assert view.escalation_level == 2  # no third level: the Heads of Service are told
    breached = [e for e in events(directory_engine, view.run_id)
                if e.kind == "escalation_limit_breached"]
    assert len(breached) == 1 and "not resolved within 48 hours" in breached[0].summary
    ladder = "Disagreement about the transfer"
    # The Head of Service of the teams' service, not the authority's others.
    await expect_mail(mailbox, T, {
        "alpha-sm": [f"dispute referred to you: {ladder}"],
        "beta-sm": [f"dispute referred to you: {ladder}"],
        "children-hos": [f"dispute escalated to you: {ladder}",
                         f"dispute not resolved within 48 hours: {ladder}"],
    }, TESTSHIRE)
    kind, _ = await s.refused("resolve-dispute", "hos-1", resolution="proceed", note="x")
    assert kind == "NotPermitted"
    view = await s.act("resolve-dispute", "children-hos", resolution="proceed", note="agreed")
    assert view.stage is Stage.transferred
    await keep_history(s.handle, "engine/ladder-last-level-timed")


# ----- 2. actors beyond the two teams -------------------------------------------------------

def test_a_party_named_at_the_start_must_be_given_and_be_a_team() -> None:
    assert "Name the team that made the original decision" in (
        start_problem(TESTSHIRE, "third-party", {}, {}) or "")
    assert "'nowhere' is not a team" in (
        start_problem(TESTSHIRE, "third-party", {"original_team": "nowhere"}, {}) or "")
    assert start_problem(TESTSHIRE, "third-party", {"original_team": "gamma"}, {}) is None


async def test_a_third_team_named_at_the_start_and_by_an_action(ts_env, worker, mailbox):
    s, view = await opened(ts_env, worker, "third-party", parties={"original_team": "gamma"})
    assert view.parties == {"original_team": "gamma"}
    kind, words = await s.refused("original-agrees", "delta-tm")
    assert kind == "NotPermitted" and "Only the Team Manager of gamma" in words
    await s.act("original-agrees", "gamma-tm")
    kind, words = await s.refused("name-next-team", "alpha-tm")
    assert kind == "InvalidInput" and "Name the team that will hold the case next" in words
    view = await s.act("name-next-team", "alpha-tm", team="delta")
    assert view.parties == {"original_team": "gamma", "next_team": "delta"}
    assert "The next team's Team Manager has read the plan (Team Manager of delta)" \
        in view.waiting_for
    view = await s.act("next-told", "delta-tm")
    assert view.stage is Stage.transferred
    await expect_mail(mailbox, T, {who: ["case transferred to beta"]
                                   for who in ("beta-tm", "adoption-tm", "gamma-tm")},
                      TESTSHIRE)
    await keep_history(s.handle, "engine/third-party")


# ----- 3. conditional steps -----------------------------------------------------------------

async def test_without_concerns_there_is_no_co_working(ts_env, worker):
    s, _ = await opened(ts_env, worker, "conditional")
    kind, words = await s.refused("co-working", "beta-tm")
    assert kind == "WrongStage" and "only after: Discussion of the case" in words
    view = await s.act("record-no-concerns", "beta-tm")
    assert gate_of(view, "co_working").not_needed
    assert "co_working_ends" not in {d.id for d in view.deadlines}
    kind, words = await s.refused("co-working", "beta-tm")
    assert kind == "WrongStage" and "is not needed" in words
    view = await s.act("joint-visit", "beta-sw")
    assert view.stage is Stage.transferred


async def test_with_concerns_co_working_is_required_and_timed(ts_env, worker):
    s, view = await opened(ts_env, worker, "conditional")
    view = await s.act("record-concerns", "beta-tm")
    monday = view.anchor_at.astimezone(LONDON).date()
    assert deadline(view, "co_working_ends").due_at == at_17(monday + timedelta(weeks=3))
    kind, words = await s.refused("joint-visit", "beta-sw")
    assert kind == "WrongStage" and "Period of co-working agreed" in words
    await s.act("co-working", "beta-tm")
    view = await s.act("joint-visit", "beta-sw")
    assert view.stage is Stage.transferred
    assert deadline(view, "co_working_ends").status is DeadlineStatus.met
    await keep_history(s.handle, "engine/conditional")


# ----- 4. checklist items that may not apply ------------------------------------------------

async def test_an_item_marked_not_applicable_needs_a_reason_and_permission(
        ts_env, worker, directory_engine):
    s, _ = await opened(ts_env, worker, "checklist-na")
    # Any client, not only the API, must give the reasons (kept in the case store as a note).
    assert s.handle is not None
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await s.handle.execute_update(CaseTransferWorkflow.complete_gate, GateAction(
            action="complete-checklist", actor=staff(T, "alpha-tm"),
            items=["chronology", "case_summary", "legal_paperwork"],
            not_applicable=["risk_assessment"]))
    assert "reason each item is not applicable" in str(refused.value.cause)
    kind, words = await s.refused("complete-checklist", "alpha-tm",
                                  items=["case_summary", "risk_assessment", "legal_paperwork"],
                                  not_applicable={"chronology": "none"}, note="x")
    assert kind == "InvalidInput" and "Every transfer needs chronology" in words
    view = await s.act("complete-checklist", "alpha-tm",
                       items=["chronology", "case_summary", "legal_paperwork"],
                       not_applicable={"risk_assessment": "no risk identified"},
                       note="see reasons")
    checklist = gate_of(view, "checklist")
    assert checklist.done and checklist.not_applicable == ["risk_assessment"]
    last = events(directory_engine, view.run_id)[-2]
    assert "not applicable: risk_assessment" in last.summary and last.note_ref
    await keep_history(s.handle, "engine/checklist-na")


# ----- 5. disputes raised by either side at any stage before the transfer -------------------

async def test_either_side_may_dispute_at_any_stage_before_the_transfer(ts_env, worker):
    s, _ = await opened(ts_env, worker, "dispute-anywhere")
    kind, words = await s.refused("raise-dispute", "beta-tm")
    assert kind == "InvalidInput" and "Say why" in words
    kind, _ = await s.refused("raise-dispute", "beta-sw", note="x")
    assert kind == "NotPermitted"
    view = await s.act("raise-dispute", "beta-tm", note="not our remit")
    assert view.stage is Stage.disputed and view.dispute is not None
    assert view.dispute.gate is None
    await s.act("authorise-summary", "alpha-tm")  # work goes on meanwhile
    view = await s.act("accept", "beta-tm")
    assert view.stage is Stage.disputed  # but the case does not move while disputed
    view = await s.act("resolve-dispute", "alpha-sm", resolution="proceed", note="agreed")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "beta")
    kind, _ = await s.refused("raise-dispute", "alpha-tm", note="too late")
    assert kind == "WrongStage"
    await keep_history(s.handle, "engine/dispute-anywhere")


# ----- 6 and 7. clocks from a dated event, and extending them -------------------------------

async def test_a_clock_runs_from_the_date_the_order_was_granted(ts_env, worker):
    s, view = await opened(ts_env, worker, "event-clock")
    monday = view.anchor_at.astimezone(LONDON).date()
    kind, words = await s.refused("record-order", "alpha-tm", date=monday + timedelta(days=1))
    assert kind == "InvalidInput" and "is in the future" in words
    # Recorded on Monday, granted the Thursday before: 10 days from Thursday is the Sunday
    # after next; 10 working days (no bank holiday in early June) the Thursday two weeks on.
    granted = monday - timedelta(days=4)
    view = await s.act("record-order", "alpha-tm", date=granted)
    assert gate_of(view, "order").event_date == granted
    assert deadline(view, "transfer_by").due_at == at_17(granted + timedelta(days=10))
    assert deadline(view, "papers_by").due_at == at_17(granted + timedelta(days=14))
    kind, _ = await s.refused("extend-deadline", "alpha-tm", deadline="transfer_by",
                              until=granted + timedelta(days=12), note="hearing moved")
    assert kind == "NotPermitted"
    view = await s.act("extend-deadline", "beta-sm", deadline="transfer_by",
                       until=granted + timedelta(days=12), note="hearing moved")
    assert deadline(view, "transfer_by").due_at == at_17(granted + timedelta(days=12))
    await keep_history(s.handle, "engine/event-clock")


async def test_a_post_transfer_duty_can_be_extended(ts_env, worker):
    s, _ = await opened(ts_env, worker, "untimed-tasks")
    view = await s.act("accept", "beta-tm")
    monday = view.anchor_at.astimezone(LONDON).date()
    assert deadline(view, "minutes").due_at == at_17(monday + timedelta(days=7))
    view = await s.act("extend-deadline", "alpha-sm", deadline="minutes",
                       until=monday + timedelta(days=9), note="chair on leave")
    assert deadline(view, "minutes").due_at == at_17(monday + timedelta(days=9))


# ----- 3 (after the transfer). tasks with no timescale --------------------------------------

async def test_untimed_tasks_hold_the_transfer_open_until_done(
        ts_env, worker, directory_engine, mailbox):
    s, _ = await opened(ts_env, worker, "untimed-tasks")
    view = await s.act("accept", "beta-tm")
    assert [(t.id, t.done) for t in view.tasks] == [("goodbye_visit", False),
                                                   ("first_hearing", False)]
    assert "Goodbye visit recorded (outstanding, no timescale)" in view.waiting_for
    await s.act("allocate", "beta-tm", worker_id="W1")
    await s.act("add-minutes", "alpha-tm")
    view = await s.act("record-goodbye-visit", "alpha-sw")
    assert view.stage is Stage.allocated  # the first hearing is still outstanding
    reminder = next(t for t in view.tasks if t.id == "first_hearing").remind_at
    monday = view.anchor_at.astimezone(LONDON).date()
    assert reminder == at_17(monday + timedelta(weeks=2))  # 2 weeks after the transfer
    await skip_to(ts_env, reminder + timedelta(minutes=1))
    view = await settled(s, lambda v: all(t.reminded or t.done for t in v.tasks))
    await expect_mail(mailbox, T, {
        "alpha-tm": ["reminder: Attend the first hearing after the transfer"]}, TESTSHIRE)
    view = await s.act("record-first-hearing", "alpha-sw")
    assert view.stage is Stage.closed
    kinds = [e.kind for e in events(directory_engine, view.run_id)]
    assert kinds.count("task_reminder") == 1 and kinds[-1] == "closed"
    await keep_history(s.handle, "engine/untimed-tasks")


# ----- 9. key dates: a plain date starts a clock; no date of birth --------------------------

async def test_a_key_date_reminds_on_the_day_and_starts_its_clock(
        ts_env, worker, directory_engine, mailbox):
    now = await ts_env.get_current_time()
    monday = june_monday(now).date()
    s, view = await opened(ts_env, worker, "key-dates",
                           key_dates={"turns_15_and_half": monday + timedelta(days=17)})
    # 15½ on the Thursday of the third week: considered by the end of Friday.
    considered = deadline(view, "considered_by")
    assert considered.due_at == at_17(monday + timedelta(days=18))
    # The case system corrects the date: the clock moves with it.
    view = await s.act("set-key-date", "alpha-tm", key_date="turns_15_and_half",
                       date=monday + timedelta(days=21))
    assert deadline(view, "considered_by").due_at == at_17(monday + timedelta(days=22))
    day = datetime.combine(monday + timedelta(days=21), time(0), tzinfo=LONDON)
    await skip_to(ts_env, day + timedelta(minutes=1))
    await settled(s, lambda v: deadline(v, "key_date:turns_15_and_half").status
                  is DeadlineStatus.met)
    await expect_mail(mailbox, T, {
        "beta-tm": ["today: The young person turns 15½"],
        "alpha-tm": ["today: The young person turns 15½"]}, TESTSHIRE)
    kinds = [e.kind for e in events(directory_engine, view.run_id)]
    assert kinds[-1] == "key_date:turns_15_and_half"
    await keep_history(s.handle, "engine/key-dates")


async def test_the_agreed_date_defaults_to_a_deadline_from_a_key_date(ts_env, worker):
    s, view = await opened(ts_env, worker, "key-date-transfer")
    assert view.transfer_date is None  # no key date yet: no default date
    monday = view.anchor_at.astimezone(LONDON).date()
    view = await s.act("set-key-date", "alpha-tm", key_date="turns_18",
                       date=monday + timedelta(days=3))  # a Thursday: due the next Thursday
    assert view.transfer_date == at_17(monday + timedelta(days=10))
    await s.act("confirm-ready", "alpha-tm")
    await skip_to(ts_env, at_17(monday + timedelta(days=10)) + timedelta(minutes=1))
    view = await settled(s, lambda v: v.stage is Stage.transferred)
    assert deadline(view, "before_18").status is DeadlineStatus.met


async def test_a_key_date_years_ahead_is_counted_on_its_own_bank_holidays(ts_env, worker):
    # Started now, so the transfer first knows this year and the next two; a key date on
    # Maundy Thursday three years on is counted on that year's Easter (Easter Monday skipped).
    now = await ts_env.get_current_time()
    year = now.year + 3
    thursday = easter(year) - timedelta(days=3)
    s = Scenario(ts_env.client, worker, T, "key-dates", protocol=TESTSHIRE)
    view = await s.open(now, key_dates={"turns_15_and_half": thursday})
    assert deadline(view, "considered_by").due_at == at_17(easter(year) + timedelta(days=2))


# ----- "today" is the London date ----------------------------------------------------------

async def test_a_date_that_has_passed_in_london_is_refused_just_after_midnight_bst(
        ts_env, worker):
    s, view = await opened(ts_env, worker, "event-clock")
    monday = view.anchor_at.astimezone(LONDON).date()
    await s.act("record-order", "alpha-tm", date=monday)
    # 00:30 BST on Wednesday: still Tuesday in UTC, Tuesday has passed in London.
    wednesday = datetime.combine(monday + timedelta(days=2), time(0, 30), tzinfo=LONDON)
    await skip_to(ts_env, wednesday)
    kind, words = await s.refused("extend-deadline", "alpha-sm", deadline="transfer_by",
                                  until=monday + timedelta(days=1), note="x")
    assert kind == "InvalidInput" and "has passed" in words
