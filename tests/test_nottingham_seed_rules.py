"""Nottingham's procedure (seed 002): the rules the engine's newer capabilities express.

Joint decisions by both managers; the 10 days to Children in Care counted from the date the
order was granted; co-working only with safeguarding concerns (or "if appropriate"); the
Appendix 1 checklist on every transfer, with the rows that may not apply; the relevant Heads
of Service (and no Director); disputes raised by either side at any stage; the Social Work
Team Manager who made the original decision; tasks after the transfer with no timescale; the
17th / 18th birthday; notices that follow the checklist; the Duty Senior Practitioner and the
Special Guardian Advanced Practitioner.

Every date is worked out from the time-skipping server's clock (next year's June, October
clock change, March clock change or Easter), so the tests hold on any day the suite runs; the
due times are worked out by hand in the comments. Emails are checked exactly: who got which.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.easter import easter

from models.protocol import GateKind
from models.transfer import DeadlineStatus, Stage, TransferView
from tests.scenario import PROTOCOLS, Scenario, deadline, expect_mail, settled
from tests.transfers import events, skip_to

N = "nottingham"
PATHWAYS = PROTOCOLS[N].pathways
LONDON = ZoneInfo("Europe/London")
STARTED = "transfer proposed to your team"
LADDER = "Disagreement about the transfer"
JOINT_DECISION = "Managers' joint decision to transfer"


# ----- dates from the server's clock ----------------------------------------------------------

def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def at_17(day: date) -> datetime:
    """The end of the working day, as the engine reports due times (UTC)."""
    return local(day, 17).astimezone(UTC)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def last_sunday(year: int, month: int) -> date:
    """The clocks change at 01:00 UTC on the last Sunday of March and of October."""
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def june_monday(now: datetime) -> date:
    """The first Monday of June next year: weeks from any bank holiday or clock change."""
    first = date(now.year + 1, 6, 1)
    return first + timedelta(days=-first.weekday() % 7)


def early_easter(now: datetime) -> date:
    """Easter Sunday of the first year from next year whose Easter falls by 20 April (so the
    Early May bank holiday is more than a fortnight after Easter Monday)."""
    year = now.year + 1
    while easter(year) > date(year, 4, 20):
        year += 1
    return easter(year)


def minute(t: datetime | None) -> datetime:
    """To the minute: a clock that starts at a step starts a few milliseconds after it."""
    assert t is not None
    return (t.astimezone(UTC) + timedelta(seconds=30)).replace(second=0, microsecond=0)


# ----- driving a transfer -----------------------------------------------------------------

async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime, **kw: Any
                 ) -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, N, pathway)
    return s, await s.open(anchor, **kw)


async def do(ts_env: Any, s: Scenario, action: str, who: str, **body: Any) -> TransferView:
    """An action with what a manager would send: every checklist item (but those marked not
    applicable), every attendee of a meeting, and the date an event happened (today)."""
    found = s.pathway.actions().get(action)
    if found is not None:
        gate = s.pathway.gates[found[0]]
        outcome = s.pathway.outcomes(found[0])[found[1]]
        if gate.kind is GateKind.checklist and outcome.completes:
            body.setdefault("items", [i for i in gate.items
                                      if i not in body.get("not_applicable", {})])
        if gate.kind is GateKind.meeting and outcome.completes:
            body.setdefault("attendees", list(gate.attendees))
        if outcome.event_date:
            body.setdefault("date", (await ts_env.get_current_time()).astimezone(LONDON).date())
    return await s.act(action, who, **body)


async def walk(ts_env: Any, s: Scenario, steps: list[tuple[str, str]]) -> TransferView:
    view = await s.view()
    for action, who in steps:
        view = await do(ts_env, s, action, who)
    return view


def gate_of(view: TransferView, gate_id: str) -> Any:
    return next(g for g in view.gates if g.id == gate_id)


async def mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await expect_mail(mailbox, N, expected)


# ----- joint decisions: both managers, never one side alone --------------------------------

# The steps before each pathway's joint decision (no safeguarding concerns on a step up).
BEFORE_JOINT = {
    "fieldwork-to-tfst": [("record-joint-visit", "fieldwork-sw")],
    "fieldwork-to-early-help": [("record-joint-visit", "fieldwork-sw")],
    "tfst-to-early-help": [("record-joint-visit", "tfst-sw")],
    "early-help-to-tfst": [("record-joint-visit", "early_help-sw")],
    "tfst-to-fieldwork": [("record-no-safeguarding-concerns", "tfst-tm"),
                          ("record-joint-visit", "tfst-sw")],
    "early-help-to-fieldwork": [("record-no-safeguarding-concerns", "fieldwork-tm"),
                                ("record-joint-visit", "early_help-sw")],
}


def test_the_seed_s_joint_decisions_need_both_managers() -> None:
    for pathway in BEFORE_JOINT:
        gate = PATHWAYS[pathway].gates["joint_decision"]
        assert gate.joint and [str(r) for r in gate.by] == ["team_manager@from",
                                                            "team_manager@to"], pathway


@pytest.mark.parametrize("pathway", sorted(BEFORE_JOINT))
async def test_one_manager_cannot_take_the_joint_decision_alone(
        ts_env, worker, mailbox, pathway):
    s, _ = await opened(ts_env, worker, pathway, local(june_monday(
        await ts_env.get_current_time()), 9))
    sending, receiving = s.pathway.sending, s.pathway.receiving
    await walk(ts_env, s, BEFORE_JOINT[pathway])
    assert (await s.refused("agree-transfer", f"{receiving}-sw"))[0] == "NotPermitted"
    view = await s.act("agree-transfer", f"{receiving}-tm")
    decision = gate_of(view, "joint_decision")
    assert not decision.done and decision.awaiting == [f"Team Manager of {sending}"]
    assert (view.stage, view.responsible_team) == (Stage.proposed, sending)
    kind, words = await s.refused("agree-transfer", f"{receiving}-tm")
    assert kind == "WrongStage" and "your agreement is already recorded" in words
    view = await s.act("agree-transfer", f"{sending}-tm")
    assert gate_of(view, "joint_decision").done
    assert [a.party for a in gate_of(view, "joint_decision").agreed] == [
        "team_manager@to", "team_manager@from"]
    title = s.pathway.gates["joint_decision"].title
    await mail(mailbox, {f"{receiving}-tm": [STARTED],
                         f"{sending}-tm": [f"your agreement is needed: {title}"]})


@pytest.mark.parametrize("pathway", sorted(BEFORE_JOINT))
async def test_either_manager_may_dispute_a_joint_decision_the_other_agreed(
        ts_env, worker, mailbox, pathway):
    s, _ = await opened(ts_env, worker, pathway, local(june_monday(
        await ts_env.get_current_time()), 9))
    sending, receiving = s.pathway.sending, s.pathway.receiving
    await walk(ts_env, s, BEFORE_JOINT[pathway])
    await s.act("agree-transfer", f"{sending}-tm")
    view = await s.act("dispute", f"{receiving}-tm", note="Threshold not met for us")
    assert (view.stage, view.responsible_team) == (Stage.disputed, sending)
    assert not gate_of(view, "joint_decision").done
    title = s.pathway.gates["joint_decision"].title
    await mail(mailbox, {
        f"{receiving}-tm": [STARTED, f"your agreement is needed: {title}"],
        f"{sending}-sm": [f"dispute referred to you: {LADDER}"],
        f"{receiving}-sm": [f"dispute referred to you: {LADDER}"]})


# ----- Fieldwork -> Children in Care: 10 days from the order granted, with its date ---------

TEN_DAYS = "Transfer within 10 days of the order or decision"
ORDER_TITLE = "Order granted, or decision that the child will not return home (with its date)"


def autumn(now: datetime) -> date:
    """The last Sunday of October next year (the clocks go back at 02:00 BST)."""
    return last_sunday(now.year + 1, 10)


async def cic_notice(ts_env, worker) -> tuple[Scenario, date]:
    """The notice on the Monday two weeks before the clocks go back; receipt confirmed."""
    sunday = autumn(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "fieldwork-to-cic", local(sunday - timedelta(days=13),
                                                                   9))
    await s.act("confirm-receipt", "cic-tm")
    return s, sunday


@pytest.mark.parametrize("action", ["record-order-granted", "record-permanence-decision"])
async def test_the_10_days_run_from_the_date_the_order_was_granted(
        ts_env, worker, mailbox, action):
    s, sunday = await cic_notice(ts_env, worker)
    assert "transfer_by" not in {d.id for d in (await s.view()).deadlines}
    # Recorded on the Monday after the clocks went back, granted (or decided) on the Friday
    # before: day 10 is the Monday after next, due 17:00 GMT. From 00:00 BST on the Friday
    # (23:00 UTC Thursday) to then is 258 hours (the hour the clocks gave back counts):
    # half is 129 hours (Wednesday 08:00 GMT), 80% is 206 h 24 min (Saturday 13:24 GMT).
    friday, monday = sunday - timedelta(days=2), sunday + timedelta(days=1)
    await skip_to(ts_env, local(monday, 10))
    kind, words = await s.refused(action, "fieldwork-tm", date=monday + timedelta(days=1))
    assert kind == "InvalidInput" and "is in the future" in words
    assert (await s.refused(action, "cic-tm", date=friday))[0] == "NotPermitted"
    view = await s.act(action, "fieldwork-tm", date=friday)
    assert gate_of(view, "order_or_decision").event_date == friday
    by = deadline(view, "transfer_by")
    assert (by.due_at, by.due_local) == (utc(sunday + timedelta(days=8), 17),
                                        f"Mon {(sunday + timedelta(days=8)).day} "
                                        f"{sunday + timedelta(days=8):%b %Y} 17:00 GMT")
    assert by.warn_at == [utc(sunday + timedelta(days=3), 8),
                          utc(sunday + timedelta(days=6), 13, 24)]
    await walk(ts_env, s, [("record-joint-visit", "cic-sw"),
                           ("complete-checklist", "fieldwork-tm"), ("initiate", "fieldwork-tm")])
    view = await s.act("accept", "cic-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cic")
    assert deadline(view, "transfer_by").status is DeadlineStatus.met
    await skip_to(ts_env, utc(sunday + timedelta(days=9), 9))  # past every mark: nothing sent
    await mail(mailbox, {
        "cic-tm": [STARTED, "case transferred to cic"],
        "fieldwork-tm": ["Children in Care Team Manager's decision: accepted",
                         "case transferred to cic"]})


async def test_ten_days_after_the_order_the_service_managers_are_told(
        ts_env, worker, mailbox):
    s, sunday = await cic_notice(ts_env, worker)
    friday = sunday - timedelta(days=2)
    assert await s.refused("initiate", "fieldwork-tm") == (
        "WrongStage", f"Transfer initiated by the Fieldwork Team Manager can be recorded only "
                      f"after: Joint handover visit by the Fieldwork and Children in Care social "
                      f"workers; Transfer checklist complete; {ORDER_TITLE}")
    await skip_to(ts_env, local(sunday + timedelta(days=1), 10))
    await s.act("record-order-granted", "fieldwork-tm", date=friday)
    due = utc(sunday + timedelta(days=8), 17)
    await skip_to(ts_env, due - timedelta(minutes=1))
    await mail(mailbox, {"cic-tm": [STARTED, f"50% of the time gone: {TEN_DAYS}",
                                    f"80% of the time gone: {TEN_DAYS}"],
                         "fieldwork-tm": [f"50% of the time gone: {TEN_DAYS}",
                                          f"80% of the time gone: {TEN_DAYS}"]})
    await skip_to(ts_env, due + timedelta(minutes=1))
    view = await settled(s, lambda v: deadline(v, "transfer_by").status
                         is DeadlineStatus.missed)
    assert view.responsible_team == "fieldwork"
    await mail(mailbox, {"cic-tm": [STARTED, f"50% of the time gone: {TEN_DAYS}",
                                    f"80% of the time gone: {TEN_DAYS}"],
                         "fieldwork-tm": [f"50% of the time gone: {TEN_DAYS}",
                                          f"80% of the time gone: {TEN_DAYS}"],
                         "fieldwork-sm": [f"deadline missed: {TEN_DAYS}"],
                         "cic-sm": [f"deadline missed: {TEN_DAYS}"]})


# ----- co-working: on a step up only with safeguarding concerns; elsewhere "if appropriate" --

CO_WORKING = "Co-working for up to three weeks"


async def test_without_safeguarding_concerns_a_step_up_has_no_co_working(
        ts_env, worker, mailbox):
    s, _ = await opened(ts_env, worker, "tfst-to-fieldwork", local(june_monday(
        await ts_env.get_current_time()), 9))
    kind, words = await s.refused("record-joint-visit", "tfst-sw")
    assert kind == "WrongStage" and "Whether the discussion identified safeguarding" in words
    view = await s.act("record-no-safeguarding-concerns", "fieldwork-tm")
    assert gate_of(view, "co_working_agreed").not_needed
    assert "co_working" not in {d.id for d in view.deadlines}
    kind, words = await s.refused("agree-co-working", "tfst-tm")
    assert kind == "WrongStage" and "Period of co-working agreed is not needed" in words
    view = await walk(ts_env, s, [("record-joint-visit", "tfst-sw"),
                                  ("complete-checklist", "tfst-tm"),
                                  ("agree-transfer", "tfst-tm"),
                                  ("agree-transfer", "fieldwork-tm")])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "fieldwork")
    assert view.deadlines == []
    await mail(mailbox, {"fieldwork-tm": [STARTED, f"your agreement is needed: "
                                                   f"{JOINT_DECISION}",
                                          "case transferred to fieldwork"],
                         "tfst-tm": ["case transferred to fieldwork"]})


async def test_with_safeguarding_concerns_both_agree_co_working_for_three_weeks(
        ts_env, worker, mailbox):
    # The discussion on the Friday before the clocks go forward (10:00 GMT): three weeks on is
    # a Friday at 17:00 BST (16:00 UTC).
    spring = last_sunday((await ts_env.get_current_time()).year + 1, 3)
    friday = spring - timedelta(days=2)
    s, _ = await opened(ts_env, worker, "early-help-to-fieldwork", local(friday, 10))
    await s.act("record-safeguarding-concerns", "early_help-tm")
    kind, words = await s.refused("record-joint-visit", "early_help-sw")
    assert kind == "WrongStage" and "Period of co-working agreed" in words
    view = await s.act("agree-co-working", "fieldwork-tm")
    assert "co_working" not in {d.id for d in view.deadlines}  # the other has not agreed
    view = await s.act("agree-co-working", "early_help-tm")
    due = deadline(view, "co_working")
    assert (due.due_at, due.due_local) == (
        utc(friday + timedelta(days=21), 16),
        f"Fri {(friday + timedelta(days=21)).day} {friday + timedelta(days=21):%b %Y} "
        f"17:00 BST")
    await skip_to(ts_env, due.due_at + timedelta(minutes=1))
    await settled(s, lambda v: deadline(v, "co_working").status is DeadlineStatus.missed)
    view = await walk(ts_env, s, [("record-joint-visit", "early_help-sw"),
                                  ("complete-checklist", "early_help-tm"),
                                  ("agree-transfer", "fieldwork-tm"),
                                  ("agree-transfer", "early_help-tm")])
    assert deadline(view, "co_working").status is DeadlineStatus.met_late
    await mail(mailbox, {
        "fieldwork-tm": [STARTED, f"deadline missed: {CO_WORKING}",
                         "case transferred to fieldwork"],
        "early_help-tm": ["your agreement is needed: Period of co-working agreed",
                          f"deadline missed: {CO_WORKING}",
                          f"your agreement is needed: {JOINT_DECISION}",
                          "case transferred to fieldwork"]})


@pytest.mark.parametrize(("pathway", "before", "answer", "who"), [
    ("tfst-to-early-help", [], "record-no-co-working", "early_help-tm"),
    ("tfst-to-early-help", [], "agree-co-working", "early_help-tm"),
    ("early-help-to-tfst", BEFORE_JOINT["early-help-to-tfst"] + [
        ("agree-transfer", "tfst-tm"), ("agree-transfer", "early_help-tm")],
     "record-no-co-working", "tfst-tm"),
    ("early-help-to-tfst", BEFORE_JOINT["early-help-to-tfst"] + [
        ("agree-transfer", "tfst-tm"), ("agree-transfer", "early_help-tm")],
     "agree-co-working", "tfst-tm"),
])
async def test_co_working_if_appropriate_is_timed_only_when_agreed(
        ts_env, worker, pathway, before, answer, who):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, pathway, local(monday, 9))
    await walk(ts_env, s, before)
    view = await s.act(answer, who)
    clocks = {d.id: d.due_at for d in view.deadlines}
    # Three weeks from the Monday it was agreed: the Monday three weeks on, 17:00 BST.
    assert clocks == ({"co_working": at_17(monday + timedelta(weeks=3))}
                      if answer == "agree-co-working" else {})


# ----- Appendix 1 on every transfer; the rows that may not apply ---------------------------

CONDITIONAL_ROWS = {"risk_assessment_on_file", "legal_paperwork_saved", "pathway_plan_on_file"}
CHILD_IN_CARE_ROWS = {"epep_and_next_due_date", "health_assessment_saved",
                      "health_concerns_recorded", "dental_and_next_appointment",
                      "life_story_work_shared", "contact_arrangements_recorded"}
LEAVING_CARE_ROWS = {"pathway_plan_on_file", "national_insurance_number_applied_for"}
SOCIAL_CARE_RECORDS = {"statutory_visit_in_timescale", "care_plan_finalised",
                       "legal_paperwork_saved"}


def test_every_transfer_has_the_checklist_with_the_rows_of_its_receiving_team() -> None:
    for pid, pathway in PATHWAYS.items():
        checklist = pathway.gates["checklist"]
        items = set(checklist.items)
        # The urgent s.47 step-up moves as soon as Fieldwork takes it: its checklist follows.
        assert checklist.kind is GateKind.checklist and (
            "checklist" in pathway.transfer.requires) != pid.endswith("-section-47"), pid
        assert checklist.local_choice, pid  # the shading is our reading: the council confirms
        # Only the rows the seed marks "(if appropriate)", "(if applicable)", "(16)".
        assert set(checklist.if_applicable) == items & CONDITIONAL_ROWS, pid
        assert (items >= CHILD_IN_CARE_ROWS) == (
            pathway.receiving in {"cic", "permanency", "leaving_care"}
            or pid == "duty-to-fieldwork-cic"), pid
        assert (items >= LEAVING_CARE_ROWS) == (pathway.receiving == "leaving_care"), pid
        # Social care's statutory records: only into a social work team from one.
        assert (items >= SOCIAL_CARE_RECORDS) == (
            pathway.sending in {"duty", "fieldwork", "cic", "permanency"}
            and pathway.receiving not in {"tfst", "early_help", "bit"}), pid
        # The joint visit and verbal handover: all but the front door's and Duty to Fieldwork
        # (Child in Need), whose handover visit the seed puts after the notification.
        assert ("joint_visit_and_verbal_handover" in items) == (
            pathway.sending != "mash" and pid != "duty-to-fieldwork-cin"), pid
    assert PATHWAYS["duty-to-fieldwork-cin"].gates["handover_visit"].required_attendees


@pytest.mark.parametrize("pathway", ["cic-to-leaving-care", "fieldwork-to-leaving-care"])
async def test_rows_that_may_not_apply_are_marked_so_with_a_reason(
        ts_env, worker, directory_engine, pathway):
    s, _ = await opened(ts_env, worker, pathway, local(june_monday(
        await ts_env.get_current_time()), 9))
    sending = s.pathway.sending
    kind, words = await s.refused("complete-checklist", f"{sending}-tm",
                                  items=s.pathway.gates["checklist"].items)
    assert kind == "WrongStage" and "only after: Joint handover visit" in words
    await s.act("record-joint-visit", f"{sending}-sw")
    items = [i for i in s.pathway.gates["checklist"].items]
    kind, words = await s.refused("complete-checklist", f"{sending}-tm", items=[
        i for i in items if i != "joint_visit_and_verbal_handover"])
    assert kind == "InvalidInput" and "Not confirmed: joint_visit_and_verbal_handover" in words
    kind, words = await s.refused(
        "complete-checklist", f"{sending}-tm",
        items=[i for i in items if i != "national_insurance_number_applied_for"],
        not_applicable={"national_insurance_number_applied_for": "not yet 16"})
    assert kind == "InvalidInput" and "Every transfer needs national_insurance_number" in words
    view = await do(ts_env, s, "complete-checklist", f"{sending}-tm", not_applicable={
        "pathway_plan_on_file": "Pathway plan review booked for next week",
        "legal_paperwork_saved": "Accommodated under s.20: no proceedings"})
    checklist = gate_of(view, "checklist")
    assert checklist.done and checklist.not_applicable == ["pathway_plan_on_file",
                                                           "legal_paperwork_saved"]
    recorded = events(directory_engine, view.run_id)[-1]
    assert "not applicable: pathway_plan_on_file, legal_paperwork_saved" in recorded.summary
    assert recorded.note_ref is not None  # the reasons, kept in the case store


# ----- the ladder: the relevant Heads of Service, then they are told; no Director ----------

@pytest.mark.parametrize(("pathway", "heads"), [
    ("fieldwork-to-tfst", ["childrens_social_care-hos", "early_help_services-hos"]),
    ("tfst-to-early-help", ["early_help_services-hos"]),
])
async def test_the_relevant_heads_of_service_have_the_second_24_hours(
        ts_env, worker, mailbox, pathway, heads):
    # Disputed at 12:00 BST on the Saturday before the clocks go back: the Service Managers'
    # 24 elapsed hours end at 11:00 GMT on Sunday, the Heads of Service's at 11:00 GMT Monday.
    sunday = autumn(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, pathway, local(sunday - timedelta(days=1), 12))
    sending, receiving = s.pathway.sending, s.pathway.receiving
    view = await s.act("raise-dispute", f"{receiving}-tm", note="Not the right service")
    assert view.dispute is not None and minute(view.dispute.level_due_at) == utc(sunday, 11)
    await skip_to(ts_env, utc(sunday, 11, 1))
    view = await settled(s, lambda v: v.escalation_level == 2)
    assert view.dispute is not None and minute(view.dispute.level_due_at) == utc(
        sunday + timedelta(days=1), 11)
    assert (await s.refused("resolve-dispute", "hos-1", resolution="proceed",
                            note="x"))[0] == "NotPermitted"
    assert (await s.refused("resolve-dispute", f"{sending}-sm", resolution="proceed",
                            note="x"))[0] == "NotPermitted"  # their level has passed
    await skip_to(ts_env, utc(sunday + timedelta(days=1), 11, 1))
    view = await settled(s, lambda v: v.dispute is not None and v.dispute.level_due_at is None)
    assert (view.stage, view.escalation_level, view.responsible_team) == (
        Stage.disputed, 2, sending)
    sms = {f"{sending}-sm": [f"dispute referred to you: {LADDER}"],
           f"{receiving}-sm": [f"dispute referred to you: {LADDER}"]}
    told = {hos: [f"dispute escalated to you: {LADDER}",
                  f"dispute not resolved within 48 hours: {LADDER}"] for hos in heads}
    await mail(mailbox, {f"{receiving}-tm": [STARTED], **sms, **told})
    view = await s.act("resolve-dispute", heads[-1], resolution="proceed", note="Agreed")
    assert view.stage is Stage.proposed and view.dispute is None
    await mail(mailbox, {f"{receiving}-tm": [STARTED, "dispute resolved: proceed"],
                         f"{sending}-tm": ["dispute resolved: proceed"], **sms, **told})


# ----- either side may dispute at any stage before the transfer ----------------------------

async def test_either_side_may_raise_a_dispute_at_any_stage(ts_env, worker, mailbox):
    s, _ = await opened(ts_env, worker, "fieldwork-to-permanency-adoption", local(june_monday(
        await ts_env.get_current_time()), 9))
    kind, words = await s.refused("raise-dispute", "permanency-tm")
    assert kind == "InvalidInput" and "Say why" in words
    assert (await s.refused("raise-dispute", "permanency-sw", note="x"))[0] == "NotPermitted"
    view = await s.act("raise-dispute", "permanency-tm", note="No adoption medical yet")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "fieldwork")
    # The work goes on meanwhile, but the case does not move while it is disputed.
    view = await walk(ts_env, s, [
        ("complete-checklist", "fieldwork-sw"), ("record-joint-visit", "permanency-sw"),
        ("complete-transfer-checklist", "fieldwork-tm"), ("initiate", "fieldwork-tm"),
        ("accept", "permanency-tm")])
    assert (view.stage, view.responsible_team) == (Stage.disputed, "fieldwork")
    view = await s.act("resolve-dispute", "permanency-sm", resolution="proceed",
                       note="Medical uploaded")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "permanency")
    kind, _ = await s.refused("raise-dispute", "fieldwork-tm", note="too late")
    assert kind == "WrongStage"
    await mail(mailbox, {
        "permanency-tm": [STARTED, "dispute resolved: proceed", "case transferred to permanency"],
        "fieldwork-tm": ["Permanency Team Manager's decision: accepted",
                         "dispute resolved: proceed", "case transferred to permanency"],
        "fieldwork-sm": [f"dispute referred to you: {LADDER}"],
        "permanency-sm": [f"dispute referred to you: {LADDER}"]})


# ----- TFST passing on a case from social care: the original Social Work TM agrees ---------

AGREES = "The Social Work Team Manager who made the original decision agrees"


AFTER_ORIGIN = [("record-no-co-working", "tfst-tm"), ("record-joint-visit", "tfst-sw"),
                ("complete-checklist", "tfst-tm"), ("agree-transfer", "tfst-tm"),
                ("agree-transfer", "early_help-tm")]


async def test_the_original_social_work_team_manager_must_agree(ts_env, worker, mailbox):
    s, _ = await opened(ts_env, worker, "tfst-to-early-help", local(june_monday(
        await ts_env.get_current_time()), 9))
    kind, words = await s.refused("record-case-from-social-care", "tfst-tm")
    assert kind == "InvalidInput" and "Name the Social Work team" in words
    view = await s.act("record-case-from-social-care", "tfst-tm", team="duty")
    assert view.parties == {"original_team": "duty"}
    await walk(ts_env, s, AFTER_ORIGIN)
    kind, words = await s.refused("record-eh-review", "tfst-sw",
                                  attendees=["tfs_worker", "eh_worker"])
    assert kind == "WrongStage" and AGREES in words
    kind, words = await s.refused("agree-move-on", "fieldwork-tm", note="x")
    assert kind == "NotPermitted" and "Only the Team Manager of duty" in words
    kind, words = await s.refused("agree-move-on", "duty-tm")
    assert kind == "InvalidInput" and "Say why" in words  # the rationale, on the child's file
    await s.act("agree-move-on", "duty-tm", note="Universal support is enough now")
    view = await do(ts_env, s, "record-eh-review", "tfst-sw")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    await mail(mailbox, {
        "early_help-tm": [STARTED, "your agreement is needed: Specialists'/Managers' joint "
                                   "decision to transfer", "case transferred to early_help"],
        "duty-tm": ["Where the case came to TFST from: from_social_care"],
        "tfst-tm": ["case transferred to early_help"]})


async def test_a_case_not_from_social_care_needs_no_other_agreement(ts_env, worker):
    s, _ = await opened(ts_env, worker, "tfst-to-early-help", local(june_monday(
        await ts_env.get_current_time()), 9))
    await s.act("record-case-not-from-social-care", "tfst-tm")
    await walk(ts_env, s, AFTER_ORIGIN)
    kind, words = await s.refused("agree-move-on", "duty-tm", note="x")
    assert kind == "WrongStage" and f"{AGREES} is not needed" in words
    view = await do(ts_env, s, "record-eh-review", "tfst-sw")
    assert view.stage is Stage.transferred and view.parties == {}


# ----- tasks after the transfer with no timescale ------------------------------------------

TO_TRANSFER = {
    "fieldwork-to-tfst": [("record-joint-visit", "fieldwork-sw"),
                          ("complete-checklist", "fieldwork-tm"), ("agree-transfer", "tfst-tm"),
                          ("agree-transfer", "fieldwork-tm"),
                          ("record-cin-review", "fieldwork-sw")],
    "tfst-to-early-help": [("record-case-not-from-social-care", "tfst-tm"),
                           ("record-no-co-working", "tfst-tm"), ("record-joint-visit", "tfst-sw"),
                           ("complete-checklist", "tfst-tm"), ("agree-transfer", "early_help-tm"),
                           ("agree-transfer", "tfst-tm"), ("record-eh-review", "tfst-sw")],
    "early-help-to-tfst": [("record-joint-visit", "early_help-sw"), ("agree-transfer", "tfst-tm"),
                           ("agree-transfer", "early_help-tm"),
                           ("record-no-co-working", "tfst-tm"),
                           ("complete-checklist", "early_help-tm"),
                           ("initiate", "early_help-tm"), ("accept", "tfst-tm")],
    "tfst-to-fieldwork": [("record-no-safeguarding-concerns", "tfst-tm"),
                          ("record-joint-visit", "tfst-sw"), ("complete-checklist", "tfst-tm"),
                          ("agree-transfer", "fieldwork-tm"), ("agree-transfer", "tfst-tm")],
    "permanency-to-cic": [("ratify-plan", "iro"), ("agree-allocation", "cic-tm"),
                          ("complete-checklist", "permanency-sw"),
                          ("record-joint-visit", "cic-sw"),
                          ("complete-transfer-checklist", "permanency-tm"),
                          ("initiate", "permanency-tm"), ("accept", "cic-tm")],
}
# (task action, who may record it, someone who may not)
TASKS = {
    "fieldwork-to-tfst": [("record-goodbye-visit", "tfst-sw", "tfst-tm"),
                          ("record-closure-form", "fieldwork-sw", "tfst-sw")],
    "tfst-to-early-help": [("record-goodbye-visit", "tfst-sw", "early_help-sw"),
                           ("send-case-coordinator-form", "tfst-tm", "early_help-tm")],
    "early-help-to-tfst": [("authorise-assessment", "tfst-tm", "early_help-tm")],
    "tfst-to-fieldwork": [("record-future-role", "tfst-sw", "fieldwork-sw")],
    "permanency-to-cic": [("record-first-hearing", "permanency-sw", "permanency-tm")],
}


@pytest.mark.parametrize("pathway", sorted(TASKS))
async def test_untimed_tasks_keep_the_transfer_open_until_done(
        ts_env, worker, directory_engine, pathway):
    s, _ = await opened(ts_env, worker, pathway, local(june_monday(
        await ts_env.get_current_time()), 9))
    first = TASKS[pathway][0]
    kind, words = await s.refused(first[0], first[1])
    assert kind == "WrongStage" and "applies only after the transfer" in words
    view = await walk(ts_env, s, TO_TRANSFER[pathway])
    assert view.stage is Stage.transferred
    view = await s.act("allocate", f"{s.pathway.receiving}-tm", worker_id="W1")
    assert view.stage is Stage.allocated  # not closed: the tasks are outstanding
    assert [(t.id, t.done, t.remind_at) for t in view.tasks] == [
        (task, False, None) for task in s.pathway.after_transfer]
    assert all(f"{s.pathway.after_transfer[t].title} (outstanding, no timescale)"
               in view.waiting_for for t in s.pathway.after_transfer)
    for action, who, not_them in TASKS[pathway]:
        assert (await s.refused(action, not_them))[0] == "NotPermitted"
        view = await s.act(action, who)
    assert view.stage is Stage.closed
    kinds = [e.kind for e in events(directory_engine, view.run_id)]
    assert kinds[-1] == "closed"


# ----- Leaving Care: by the 18th birthday, counted from the 17th ---------------------------

BY_18 = "Transfer to Leaving Care by the 18th birthday"
TURNS_17 = "The young person's 17th birthday (complex cases may be raised with Leaving Care)"


@pytest.mark.parametrize("pathway", ["cic-to-leaving-care", "fieldwork-to-leaving-care"])
async def test_the_17th_birthday_is_told_and_the_transfer_is_due_by_the_18th(
        ts_env, worker, mailbox, pathway):
    monday = june_monday(await ts_env.get_current_time())
    birthday = monday + timedelta(days=3)  # 17 on the Thursday: 18 a year on, 17:00 BST
    s, view = await opened(ts_env, worker, pathway, local(monday, 9),
                           key_dates={"turns_17": birthday})
    sending = s.pathway.sending
    eighteenth = birthday.replace(year=birthday.year + 1)
    by = deadline(view, "before_18th_birthday")
    assert (by.due_at, by.due_local) == (
        at_17(eighteenth), f"{eighteenth:%a} {eighteenth.day} {eighteenth:%b %Y} 17:00 BST")
    kind, _ = await s.refused("set-key-date", f"{sending}-sw", key_date="turns_17",
                              date=birthday)
    assert kind == "NotPermitted"  # the date of birth's holders give it, not a worker
    await skip_to(ts_env, local(birthday, 0, 1))
    await settled(s, lambda v: deadline(v, "key_date:turns_17").status is DeadlineStatus.met)
    view = await walk(ts_env, s, [("record-cic-review", f"{sending}-sw"),
                                  ("record-joint-visit", f"{sending}-sw"),
                                  ("complete-checklist", f"{sending}-tm"),
                                  ("initiate", f"{sending}-tm"), ("accept", "leaving_care-tm")])
    assert deadline(view, "before_18th_birthday").status is DeadlineStatus.met
    await mail(mailbox, {
        "leaving_care-tm": [STARTED, f"today: {TURNS_17}", "case transferred to leaving_care"],
        f"{sending}-tm": [f"today: {TURNS_17}", "Leaving Care Team Manager's decision: accepted",
                          "case transferred to leaving_care"]})


async def test_not_transferred_by_the_18th_birthday_is_reported(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    # 17 last July (the day is long past: nobody is told of it); 18 this July, 17:00 BST.
    birthday = date(monday.year - 1, 7, monday.day)
    s, view = await opened(ts_env, worker, "cic-to-leaving-care", local(monday, 9),
                           key_dates={"turns_17": birthday})
    eighteenth = date(monday.year, 7, monday.day)
    assert deadline(view, "before_18th_birthday").due_at == at_17(eighteenth)
    await skip_to(ts_env, at_17(eighteenth) - timedelta(minutes=1))
    await mail(mailbox, {"leaving_care-tm": [STARTED]})
    await skip_to(ts_env, at_17(eighteenth) + timedelta(minutes=1))
    view = await settled(s, lambda v: deadline(v, "before_18th_birthday").status
                         is DeadlineStatus.missed)
    assert view.responsible_team == "cic"
    await mail(mailbox, {"leaving_care-tm": [STARTED, f"deadline missed: {BY_18}"],
                         "cic-tm": [f"deadline missed: {BY_18}"],
                         "cic-sm": [f"deadline missed: {BY_18}"],
                         "leaving_care-sm": [f"deadline missed: {BY_18}"]})


# ----- Duty -> Fieldwork: the Fieldwork TM is notified once the checklist is complete -------

CIN_NOTICE = "Transfer checklist complete (Duty Team Manager)"
PLANNING = "Child in Need planning meeting within 10 working days of notification"


async def cin_notified(ts_env, worker, mailbox) -> tuple[Scenario, date]:
    """Started on the Monday of Holy Week, the checklist complete (the notice) on Wednesday."""
    sunday = early_easter(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "duty-to-fieldwork-cin",
                           local(sunday - timedelta(days=6), 10))
    assert view.deadlines == []
    kind, words = await s.refused("accept", "fieldwork-tm")
    assert kind == "WrongStage" and CIN_NOTICE in words
    await mail(mailbox, {})  # nobody is told before the case is ready
    await skip_to(ts_env, local(sunday - timedelta(days=4), 10))
    view = await do(ts_env, s, "complete-checklist", "duty-tm")
    # 10 working days from Wednesday: Thursday, (Good Friday, the weekend, Easter Monday),
    # Tuesday to Friday, Monday to Friday: the Friday twelve days after Easter Sunday.
    planning = deadline(view, "cin_planning_meeting_by")
    assert planning.due_at == at_17(sunday + timedelta(days=12))
    return s, sunday


async def test_the_planning_meeting_counts_from_the_notice_after_the_checklist(
        ts_env, worker, mailbox):
    s, sunday = await cin_notified(ts_env, worker, mailbox)
    await skip_to(ts_env, local(sunday + timedelta(days=12), 15))
    view = await do(ts_env, s, "record-cin-planning-meeting", "fieldwork-tm")
    assert deadline(view, "cin_planning_meeting_by").status is DeadlineStatus.met
    await skip_to(ts_env, at_17(sunday + timedelta(days=12)) + timedelta(minutes=1))
    await mail(mailbox, {"fieldwork-tm": [CIN_NOTICE]})


async def test_the_planning_meeting_not_held_in_10_working_days_is_reported(
        ts_env, worker, mailbox):
    s, sunday = await cin_notified(ts_env, worker, mailbox)
    due = at_17(sunday + timedelta(days=12))
    await skip_to(ts_env, due - timedelta(minutes=1))
    await mail(mailbox, {"fieldwork-tm": [CIN_NOTICE]})
    await skip_to(ts_env, due + timedelta(minutes=1))
    await settled(s, lambda v: deadline(v, "cin_planning_meeting_by").status
                  is DeadlineStatus.missed)
    await mail(mailbox, {"fieldwork-tm": [CIN_NOTICE, f"deadline missed: {PLANNING}"],
                         "fieldwork-sm": [f"deadline missed: {PLANNING}"]})


REVIEW = "Receiving Team Manager reviews the case within 48 hours"
IN_CARE_NOTICE = "Transfer checklist complete (Duty Manager)"


@pytest.mark.parametrize("reviewed", [True, False])
async def test_48_hours_to_review_run_from_the_notice_after_the_checklist(
        ts_env, worker, mailbox, reviewed):
    # The checklist complete at 12:00 BST on the Saturday before the clocks go back: half time
    # is 11:00 GMT on Sunday, the 48 elapsed hours end at 11:00 GMT on Monday.
    sunday = autumn(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "duty-to-fieldwork-cic",
                           local(sunday - timedelta(days=2), 16))
    assert view.deadlines == []
    await s.act("record-assessment-and-review", "duty-tm")
    kind, words = await s.refused("review-case", "fieldwork-tm")
    assert kind == "WrongStage" and IN_CARE_NOTICE in words
    await skip_to(ts_env, local(sunday - timedelta(days=1), 12))
    view = await do(ts_env, s, "complete-checklist", "duty-tm")
    due = deadline(view, "review_due")
    assert (minute(due.due_at), [minute(w) for w in due.warn_at]) == (
        utc(sunday + timedelta(days=1), 11), [utc(sunday, 11)])
    if reviewed:
        await skip_to(ts_env, local(sunday + timedelta(days=1), 10))
        view = await s.act("review-case", "fieldwork-tm")
        assert deadline(view, "review_due").status is DeadlineStatus.met
        await skip_to(ts_env, utc(sunday + timedelta(days=1), 12))
        await mail(mailbox, {"fieldwork-tm": [IN_CARE_NOTICE, f"50% of the time gone: {REVIEW}"]})
        return
    await skip_to(ts_env, utc(sunday + timedelta(days=1), 11, 1))
    await settled(s, lambda v: deadline(v, "review_due").status is DeadlineStatus.missed)
    await mail(mailbox, {"fieldwork-tm": [IN_CARE_NOTICE, f"50% of the time gone: {REVIEW}",
                                          f"deadline missed: {REVIEW}"],
                         "fieldwork-sm": [f"deadline missed: {REVIEW}"],
                         "duty-tm": [f"deadline missed: {REVIEW}"]})


# ----- actors beyond the two Team Managers and social workers -------------------------------

async def test_the_duty_senior_practitioner_may_agree_a_step_across(ts_env, worker, mailbox):
    s, _ = await opened(ts_env, worker, "duty-to-tfst", local(june_monday(
        await ts_env.get_current_time()), 9))
    kind, words = await s.refused("agree-transfer", "duty-sw")
    assert kind == "NotPermitted" and "Senior Practitioner of duty" in words
    view = await s.act("agree-transfer", "duty-sp")
    assert gate_of(view, "agreed").done_by == "nottingham-duty-sp"
    view = await walk(ts_env, s, [("complete-checklist", "duty-tm"), ("accept", "tfst-tm")])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "tfst")
    await mail(mailbox, {
        "tfst-tm": [STARTED, "case transferred to tfst"],
        "duty-tm": ["Transfer form accepted by the receiving Specialist/Manager",
                    "case transferred to tfst"]})


async def test_the_special_guardian_advanced_practitioner_records_the_joint_visit(
        ts_env, worker):
    s, _ = await opened(ts_env, worker, "fieldwork-to-permanency-sgo", local(june_monday(
        await ts_env.get_current_time()), 9))
    kind, words = await s.refused("record-joint-visit", "permanency-sw")
    assert kind == "NotPermitted" and "Advanced Practitioner of permanency" in words
    view = await s.act("record-joint-visit", "permanency-ap")
    assert gate_of(view, "joint_visit").done_by == "nottingham-permanency-ap"


async def test_the_new_team_must_attend_the_concluding_cic_review(ts_env, worker):
    s, _ = await opened(ts_env, worker, "cic-to-tfst", local(june_monday(
        await ts_env.get_current_time()), 9))
    await s.act("record-discussion", "tfst-tm")
    kind, words = await s.refused("record-cic-review", "cic-sw",
                                  attendees=["iro", "child", "family", "cic_social_worker"])
    assert kind == "InvalidInput" and "counts only with receiving_worker attending" in words
    view = await do(ts_env, s, "record-cic-review", "cic-sw")
    assert gate_of(view, "cic_review").done
