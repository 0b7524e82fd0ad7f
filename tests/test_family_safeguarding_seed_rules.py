"""Seed 004 (the Family Safeguarding authority): the rules issue 8 corrected or newly encoded.

After an ICO the case moves at the CMH (its listed date a key date, the case moving when it
is recorded as held), and earlier only when the CMH is more than 3 weeks away and both Team
Managers agree at their meeting (else their Service Managers, one level of 5 days); FSP ->
CLA proposed before the final hearing, its 10 working days from the orders' date; the 15 1/2
key date for the 16+ Team; the non-negotiable checklist's conditional items not applicable
with a reason; the family handover meeting and the written confirmation, which never hold a
transfer up; every choice the seed does not state marked `local_choice`.

Every date is worked out from the time-skipping server's present (tests/seed_scenes.py), so
the tests hold on any day the suite runs: a quiet June, the next Christmas on a Friday (as
in 2026) or the next Easter on 28 March (the clocks go forward that morning, as in 2027).
Due times are worked out by hand within those calendars. Timers are crossed by moving the
server's clock, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from models.transfer import DeadlineStatus, Stage, TransferView
from tests import scenario
from tests.scenario import PROTOCOLS, Scenario, deadline, settled, status
from tests.seed_scenes import at, christmas_on_friday, easter_on_march_28, june_monday
from tests.transfers import events, skip_to

A = "family_safeguarding"
PROTOCOL = PROTOCOLS[A]
CHECKLIST = list(PROTOCOL.pathways["a-and-i-to-early-help"].gates["checklist"].items)
MAY_NOT_APPLY = list(PROTOCOL.pathways["a-and-i-to-early-help"].gates["checklist"].if_applicable)

STARTED = "transfer proposed to your team"
ACCEPTED = "Receiving Team Manager's review: accepted"
ALLOCATED = "worker W1 allocated"
AT_CMH = "a-and-i-to-fsp-proceedings-at-cmh"
BEFORE_CMH = "a-and-i-to-fsp-proceedings-before-cmh"
CMH_DAY = "today: Case Management Hearing (FSP take the case from this hearing)"


def moved(team: str) -> str:
    return f"case transferred to {team}"


def late(pathway: str, name: str) -> str:
    return f"deadline missed: {PROTOCOL.pathways[pathway].deadlines[name].title}"


async def expect_mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await scenario.expect_mail(mailbox, A, expected)


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime, *,
                 key_dates: dict[str, date] | None = None) -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, A, pathway)
    return s, await s.open(anchor, key_dates=key_dates)


def gate(view: TransferView, gate_id: str) -> Any:
    return next(g for g in view.gates if g.id == gate_id)


def missed(name: str) -> Callable[[TransferView], bool]:
    return lambda view: status(view, name) is DeadlineStatus.missed


# ----- the protocol file -------------------------------------------------------------------


def test_every_choice_the_seed_does_not_state_is_marked() -> None:
    for pathway_id, pathway in PROTOCOL.pathways.items():
        assert pathway.notify.local_choice, pathway_id
        for name, spec in pathway.deadlines.items():
            assert all(a.local_choice for a in spec.on_breach), (pathway_id, name)
        for key in pathway.key_dates.values():
            assert key.local_choice
        # The family handover and the written confirmation never hold a transfer up.
        assert "written_confirmation" in pathway.gates
        assert not {"written_confirmation", "family_handover", "checklist"} & set(
            pathway.transfer.requires)
    ten = PROTOCOL.pathways["fsp-to-cla-final-order"].deadlines["transfer_by"]
    assert str(ten.within) == "10 working days"
    assert ten.local_choice is not None and "Within 10 days" in ten.local_choice
    for ladder in PROTOCOL.ladders.values():
        assert ladder.local_choice


# ----- after the ICO: the case moves at the CMH --------------------------------------------


async def test_fsp_take_the_case_at_the_cmh(ts_env, worker, mailbox):
    # ICO Mon 7 Dec, CMH listed for Tue 22 Dec (given at the start).
    year = christmas_on_friday(await ts_env.get_current_time())
    ico, cmh = date(year, 12, 7), date(year, 12, 22)
    s, view = await opened(ts_env, worker, AT_CMH, at(ico, 11), key_dates={"cmh": cmh})
    assert view.transfer_date is None  # nothing moves it at ICO + 3 weeks any more
    # 3 weeks (calendar): Mon 28 Dec, a bank holiday, 17:00 GMT. The hearing recorded by the
    # end of the working day after it: Wed 23 Dec.
    assert deadline(view, "transfer_by").due_at == at(date(year, 12, 28), 17)
    assert deadline(view, "cmh_recorded_by").due_at == at(date(year, 12, 23), 17)
    await skip_to(ts_env, at(cmh - timedelta(days=1), 16))
    kind, words = await s.refused("record-cmh-held", "a_and_i-tm", date=cmh)
    assert kind == "InvalidInput" and "is in the future" in words
    assert (await s.view()).responsible_team == "a_and_i"
    await skip_to(ts_env, at(cmh, 0, 1))
    await expect_mail(mailbox, {"fsp-tm": [STARTED, CMH_DAY], "a_and_i-tm": [CMH_DAY]})
    await skip_to(ts_env, at(cmh, 15))
    kind, _ = await s.refused("record-cmh-held", "fsp-sw", date=cmh)
    assert kind == "NotPermitted"
    view = await s.act("record-cmh-held", "fsp-tm", date=cmh)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "fsp")
    assert gate(view, "cmh_held").event_date == cmh
    assert {status(view, n) for n in ("transfer_by", "cmh_recorded_by")} == {
        DeadlineStatus.met}
    view = await s.act("allocate", "fsp-tm", worker_id="W1")
    assert view.stage is Stage.closed
    await expect_mail(mailbox, {"fsp-tm": [STARTED, CMH_DAY, moved("fsp")],
                                "a_and_i-tm": [CMH_DAY, moved("fsp"), ALLOCATED]})


async def test_no_cmh_listed_then_adjourned_over_christmas(ts_env, worker, mailbox):
    year = christmas_on_friday(await ts_env.get_current_time())
    ico = date(year, 12, 7)
    s, _ = await opened(ts_env, worker, AT_CMH, at(ico, 11))
    three_weeks = at(date(year, 12, 28), 17)
    await skip_to(ts_env, three_weeks - timedelta(minutes=1))
    view = await s.view()
    assert (view.stage, view.responsible_team) == (Stage.proposed, "a_and_i")
    await skip_to(ts_env, three_weeks + timedelta(minutes=1))
    view = await settled(s, missed("transfer_by"))
    assert view.responsible_team == "a_and_i"  # nothing moved it: it waits for the CMH
    no_cmh = late(AT_CMH, "transfer_by")
    await expect_mail(mailbox, {"fsp-tm": [STARTED, no_cmh], "a_and_i-tm": [no_cmh]})
    # The CMH is listed (adjourned) for Tue 5 Jan: recorded by Wed 6 Jan, 17:00 GMT.
    await skip_to(ts_env, at(date(year, 12, 29), 10))
    cmh = date(year + 1, 1, 5)
    kind, _ = await s.refused("set-key-date", "a_and_i-sw", key_date="cmh", date=cmh)
    assert kind == "NotPermitted"
    view = await s.act("set-key-date", "a_and_i-tm", key_date="cmh", date=cmh)
    recorded_by = at(date(year + 1, 1, 6), 17)
    assert deadline(view, "cmh_recorded_by").due_at == recorded_by
    await skip_to(ts_env, recorded_by + timedelta(minutes=1))
    await settled(s, missed("cmh_recorded_by"))
    not_recorded = late(AT_CMH, "cmh_recorded_by")
    expected = {"fsp-tm": [STARTED, no_cmh, CMH_DAY, not_recorded],
                "a_and_i-tm": [no_cmh, CMH_DAY, not_recorded]}
    await expect_mail(mailbox, expected)
    await skip_to(ts_env, at(date(year + 1, 1, 7), 10))
    view = await s.act("record-cmh-held", "a_and_i-tm", date=cmh)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "fsp")
    assert {status(view, n) for n in ("transfer_by", "cmh_recorded_by")} == {
        DeadlineStatus.met_late}
    for tm in expected:
        expected[tm].append(moved("fsp"))
    await expect_mail(mailbox, expected)


# ----- the CMH more than 3 weeks away: earlier, by the Team Managers' joint agreement -------

TM_MEETING: dict[str, Any] = {"attendees": ["a_and_i_team_manager", "fsp_team_manager"]}
LISTED = "Case Management Hearing date recorded (more than 3 weeks away): listed"
MEETING = "Team Managers' meeting on outstanding work before the CMH"
CMH_LADDER = "Team Managers could not agree at the meeting before the CMH"


async def test_a_cmh_not_more_than_3_weeks_away_is_refused(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, BEFORE_CMH, at(monday, 10))
    # Three weeks to the day is not "more than 3 weeks away": the earliest is the Tuesday.
    kind, words = await s.refused("record-cmh-date", "a_and_i-tm",
                                  date=monday + timedelta(days=21))
    earliest = monday + timedelta(days=22)
    assert kind == "InvalidInput"
    assert f"needs 22 days notice: the earliest date is {earliest:%A %d %B %Y}" in words
    view = await s.act("record-cmh-date", "a_and_i-tm", date=earliest)
    # The Team Managers meet at least 5 days before it: by the Thursday before, 17:00 BST.
    assert deadline(view, "cmh_listed:listed").due_at == at(earliest - timedelta(days=5), 17)
    await expect_mail(mailbox, {"fsp-tm": [STARTED, LISTED], "a_and_i-tm": [LISTED]})


async def test_the_case_moves_early_only_when_both_team_managers_agree(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, BEFORE_CMH, at(monday, 10))
    cmh = monday + timedelta(days=35)
    view = await s.act("record-cmh-date", "fsp-tm", date=cmh)
    assert deadline(view, "cmh_listed:listed").due_at == at(cmh - timedelta(days=5), 17)
    await skip_to(ts_env, at(monday + timedelta(days=7), 10))
    kind, _ = await s.refused("agree-at-tm-meeting", "a_and_i-sw", **TM_MEETING)
    assert kind == "NotPermitted"
    view = await s.act("agree-at-tm-meeting", "a_and_i-tm", **TM_MEETING)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "a_and_i")
    assert gate(view, "tm_meeting").awaiting == ["Team Manager of fsp"]
    kind, words = await s.refused("agree-at-tm-meeting", "a_and_i-tm", **TM_MEETING)
    assert kind == "WrongStage" and "already recorded" in words
    view = await s.act("agree-at-tm-meeting", "fsp-tm", **TM_MEETING)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "fsp")
    assert status(view, "cmh_listed:listed") is DeadlineStatus.met
    agreed = f"{MEETING}: agreed"
    await expect_mail(mailbox, {
        "fsp-tm": [STARTED, LISTED, f"your agreement is needed: {MEETING}", agreed,
                   moved("fsp")],
        "a_and_i-tm": [LISTED, agreed, moved("fsp")]})


async def test_the_service_managers_have_5_days_then_are_told(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, BEFORE_CMH, at(monday, 10))
    await s.act("agree-at-tm-meeting", "a_and_i-tm", **TM_MEETING)
    view = await s.act("disagree-at-tm-meeting", "fsp-tm", note="Statements outstanding",
                       **TM_MEETING)
    assert (view.stage, view.responsible_team, view.escalation_level) == (
        Stage.disputed, "a_and_i", 1)
    # Straight to the Service Managers: 5 calendar days, the Saturday, 17:00 BST.
    saturday = at(monday + timedelta(days=5), 17)
    assert view.dispute is not None and view.dispute.level_due_at == saturday
    await skip_to(ts_env, saturday + timedelta(minutes=1))
    view = await settled(s, lambda v: v.dispute is not None and v.dispute.level_due_at is None)
    assert view.escalation_level == 1  # one level: no one above them is invented
    referred = f"dispute referred to you: {CMH_LADDER}"
    told = f"dispute not resolved within 5 days: {CMH_LADDER}"
    await expect_mail(mailbox, {"fsp-tm": [STARTED, f"your agreement is needed: {MEETING}"],
                                "a_and_i-sm": [referred, told], "fsp-sm": [referred, told]})
    view = await s.act("resolve-dispute", "fsp-sm", resolution="decline",
                       note="A&I keep the case until the CMH")
    assert (view.stage, view.responsible_team) == (Stage.declined, "a_and_i")


# ----- FSP -> CLA: proposed before the final hearing, the clock from the orders' date --------

ORDERS = "Care proceedings concluded with a care order and/or placement order: made"
FINAL = "fsp-to-cla-final-order"


async def test_cla_hears_before_the_final_hearing_and_the_clock_runs_from_the_orders(
        ts_env, worker, mailbox):
    year = easter_on_march_28(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, FINAL, at(date(year, 3, 15), 10))
    assert view.deadlines == [] and view.transfer_date is None
    await skip_to(ts_env, at(date(year, 3, 17), 10))
    await s.act("name-cla-worker", "cla-tm")
    await s.act("accept", "cla-tm")
    # The orders were made on Maundy Thursday, recorded on the Tuesday after Easter.
    await skip_to(ts_env, at(date(year, 3, 30), 10))
    kind, words = await s.refused("record-final-orders", "fsp-tm", date=date(year, 3, 31))
    assert kind == "InvalidInput" and "is in the future" in words
    view = await s.act("record-final-orders", "fsp-tm", date=date(year, 3, 25))
    # 10 working days from Thu 25 Mar, Good Friday and Easter Monday closed: Mon 12 Apr,
    # 17:00 BST, the default transfer date. The worker was named before the order.
    due = at(date(year, 4, 12), 17)
    assert deadline(view, "transfer_by").due_at == due
    assert view.transfer_date == due and view.stage is Stage.ready
    assert deadline(view, "worker_named_by").due_at == at(date(year, 3, 30), 17)
    assert status(view, "worker_named_by") is DeadlineStatus.met
    await skip_to(ts_env, due + timedelta(minutes=1))
    view = await settled(s, lambda v: v.stage is Stage.transferred)
    assert status(view, "transfer_by") is DeadlineStatus.met
    await expect_mail(mailbox, {"cla-tm": [STARTED, ORDERS, moved("cla")],
                                "fsp-tm": [ACCEPTED, moved("cla")]})


async def test_no_cla_worker_named_by_the_order_both_managers_are_told(ts_env, worker,
                                                                        mailbox):
    year = easter_on_march_28(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, FINAL, at(date(year, 3, 15), 10))
    await s.act("accept", "cla-tm")
    await skip_to(ts_env, at(date(year, 3, 30), 10))
    view = await s.act("record-final-orders", "fsp-sw", date=date(year, 3, 25))
    named_by = at(date(year, 3, 30), 17)  # the first working day after the order
    assert deadline(view, "worker_named_by").due_at == named_by
    await skip_to(ts_env, named_by - timedelta(minutes=1))
    assert status(await s.view(), "worker_named_by") is DeadlineStatus.pending
    await skip_to(ts_env, named_by + timedelta(minutes=1))
    await settled(s, missed("worker_named_by"))
    unnamed = late(FINAL, "worker_named_by")
    await expect_mail(mailbox, {"cla-tm": [STARTED, ORDERS, unnamed],
                                "fsp-tm": [ACCEPTED, unnamed]})
    view = await s.act("name-cla-worker", "cla-tm")
    assert view.stage is Stage.ready and view.responsible_team == "fsp"
    assert status(view, "worker_named_by") is DeadlineStatus.met_late


# ----- CLA -> 16+: the day the young person turns 15 1/2 ------------------------------------

TURNS = "today: The young person turns 15 1/2 (the transfer is considered)"
PANEL: dict[str, Any] = {"attendees": ["cla_team_manager", "sixteen_plus_team_manager"]}


async def test_the_16_plus_transfer_is_considered_at_15_and_a_half(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "cla-to-sixteen-plus", at(monday, 10),
                           key_dates={"turns_15_and_half": monday + timedelta(days=2)})
    kind, _ = await s.refused("set-key-date", "sixteen_plus-sw", key_date="turns_15_and_half",
                              date=monday + timedelta(days=9))
    assert kind == "NotPermitted"
    # The case system corrects the day to the Wednesday after: 16 six months on, in
    # December, 17:00 GMT.
    turns = monday + timedelta(days=9)
    view = await s.act("set-key-date", "cla-sw", key_date="turns_15_and_half", date=turns)
    assert deadline(view, "transfer_by").due_at == at(date(turns.year, 12, turns.day), 17)
    await skip_to(ts_env, at(turns, 0, 1))
    await expect_mail(mailbox, {"sixteen_plus-tm": [STARTED, TURNS], "cla-tm": [TURNS]})
    await skip_to(ts_env, at(turns, 14))
    await s.act("accept", "sixteen_plus-tm")
    view = await s.act("record-transfer-panel", "cla-tm", **PANEL)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "sixteen_plus")
    assert status(view, "transfer_by") is DeadlineStatus.met
    await expect_mail(mailbox, {"sixteen_plus-tm": [STARTED, TURNS, moved("sixteen_plus")],
                                "cla-tm": [TURNS, ACCEPTED, moved("sixteen_plus")]})


async def test_not_transferred_by_16(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    turns = monday + timedelta(days=2)
    s, _ = await opened(ts_env, worker, "cla-to-sixteen-plus", at(monday, 10),
                        key_dates={"turns_15_and_half": turns})
    sixteen = at(date(turns.year, 12, turns.day), 17)
    await s.act("accept", "sixteen_plus-tm")
    await skip_to(ts_env, sixteen - timedelta(minutes=1))
    assert status(await s.view(), "transfer_by") is DeadlineStatus.pending
    await skip_to(ts_env, sixteen + timedelta(minutes=1))
    view = await settled(s, missed("transfer_by"))
    assert (view.stage, view.responsible_team) == (Stage.proposed, "cla")
    by_16 = late("cla-to-sixteen-plus", "transfer_by")
    await expect_mail(mailbox, {"sixteen_plus-tm": [STARTED, TURNS, by_16],
                                "cla-tm": [TURNS, ACCEPTED, by_16]})


# ----- the non-negotiable checklist: conditional items, with a reason ------------------------


async def test_conditional_checklist_items_may_be_not_applicable_with_a_reason(ts_env, worker):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "fsp-to-cla-section-20", at(monday, 10))
    reasons = {item: "does not apply to this child" for item in MAY_NOT_APPLY}
    confirmed = [i for i in CHECKLIST if i not in reasons]
    kind, words = await s.refused(
        "complete-checklist", "fsp-tm", items=confirmed[:-1],
        not_applicable={**reasons, "handover_supervision_held": "none yet"}, note="reasons")
    assert kind == "InvalidInput"
    assert "Every transfer needs handover_supervision_held" in words
    kind, words = await s.refused("complete-checklist", "fsp-tm", items=confirmed,
                                  not_applicable={**reasons, "transfer_audit_form_completed":
                                                  "not done"}, note="reasons")
    assert kind == "InvalidInput" and "Confirmed and not applicable at once" in words
    view = await s.act("complete-checklist", "fsp-tm", items=confirmed,
                       not_applicable=reasons, note="Section 20, no court, no adoption plan")
    checklist = gate(view, "checklist")
    assert checklist.done and checklist.not_applicable == MAY_NOT_APPLY
    assert view.stage is Stage.proposed  # the checklist never moves (or holds) the transfer


# ----- the family handover meeting and the written confirmation: no delay ------------------

HANDOVER: dict[str, Any] = {
    "attendees": ["family", "child", "sending_social_worker", "receiving_social_worker"]}


async def test_the_handover_and_written_confirmation_never_hold_a_transfer_up(
        ts_env, worker, directory_engine):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "a-and-i-to-sixteen-plus", at(monday, 10))
    kind, words = await s.refused("record-family-handover", "a_and_i-sw",
                                  attendees=["child", "sending_social_worker",
                                             "receiving_social_worker"])
    assert kind == "InvalidInput" and "family" in words
    view = await s.act("accept", "sixteen_plus-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "sixteen_plus")
    moved_event = next(e for e in events(directory_engine, view.run_id)
                       if e.kind == "transferred")
    assert "Handover meeting with the family and the new social worker" in moved_event.summary
    assert "Change of worker confirmed to the family in writing" in moved_event.summary
    # Both may be recorded after the transfer, by either team.
    await s.act("record-family-handover", "sixteen_plus-sw", **HANDOVER)
    view = await s.act("record-written-confirmation", "sixteen_plus-tm")
    assert gate(view, "written_confirmation").done and gate(view, "family_handover").done
    kind, _ = await s.refused("record-written-confirmation", "cla-tm")
    assert kind == "WrongStage"  # already recorded
