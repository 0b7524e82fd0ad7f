"""Seed 003 (the Safeguarding Hub authority): the rules issue 8 corrected or newly encoded.

Either Team Manager may dispute at any stage before the transfer (the front door's 24 hours,
the teams' 2 working days, then the Service Managers); an S.37 direction tells legal
services; the Adoption Support Team Manager's consultation; the joint planning discussion;
the permanence report only with a plan for adoption and 10 working days from the end of
proceedings; the 15 1/2 key date for leaving care; the strategy meeting before a CWD child's
CP plan; wishes and feelings "wherever possible".

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
from tests.seed_scenes import at, christmas_on_friday, easter_on_march_28, june_monday, utc
from tests.transfers import skip_to

A = "safeguarding_hub"
PROTOCOL = PROTOCOLS[A]

STARTED = "transfer proposed to your team"
ACCEPTED = "Receiving Team Manager's decision: accepted"
FRONT_DOOR = "Disagreement about where the Safeguarding Hub sends a contact"
BETWEEN_TEAMS = "Disagreement between teams about the transfer"


def moved(team: str) -> str:
    return f"case transferred to {team}"


# ----- helpers ----------------------------------------------------------------------------


async def expect_mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await scenario.expect_mail(mailbox, A, expected)


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime, *,
                 by: str | None = None, key_dates: dict[str, date] | None = None
                 ) -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, A, pathway)
    return s, await s.open(anchor, by=by, key_dates=key_dates)


def gate(view: TransferView, gate_id: str) -> Any:
    return next(g for g in view.gates if g.id == gate_id)


def missed(name: str) -> Callable[[TransferView], bool]:
    return lambda view: status(view, name) is DeadlineStatus.missed


def title(pathway: str, name: str) -> str:
    return PROTOCOL.pathways[pathway].deadlines[name].title


# ----- the protocol file: every choice the seed does not state is marked -------------------


def test_every_pathway_lets_either_team_manager_dispute_and_marks_its_choices() -> None:
    for pathway_id, pathway in PROTOCOL.pathways.items():
        rule = pathway.raise_dispute
        if pathway.closes or pathway.leaves:  # no other team of ours: no dispute, and why
            assert rule is None and pathway.local_choice, pathway_id
        else:
            assert rule is not None, pathway_id
            assert [str(r) for r in rule.by] == ["team_manager@from", "team_manager@to"]
            assert rule.ladder == ("front_door" if pathway.sending == "hub" else "disagreement")
        assert pathway.notify.local_choice
        for deadline_id, spec in pathway.deadlines.items():
            assert all(action.local_choice for action in spec.on_breach), (pathway_id,
                                                                           deadline_id)
    for ladder in PROTOCOL.ladders.values():
        assert ladder.local_choice


# ----- "In all circumstances": either side disputes, at the front door ----------------------


async def test_the_receiving_team_disputes_a_contact_and_the_service_managers_are_told(
        ts_env, worker, mailbox):
    # Easter Saturday, 27 March 10:00 GMT: a child in need contact. The clocks go forward
    # at 01:00 UTC on Sunday, so 24 hours on is 11:30 BST, 48 hours on Monday 11:00 BST.
    year = easter_on_march_28(await ts_env.get_current_time())
    saturday = date(year, 3, 27)
    s, view = await opened(ts_env, worker, "hub-to-c-and-f-child-in-need", at(saturday, 10),
                           by="hub-sw")
    assert deadline(view, "sent_by").due_at == at(saturday + timedelta(days=2), 11)
    await skip_to(ts_env, at(saturday, 10, 15))
    await s.act("record-rag-rating", "hub-sw")
    await skip_to(ts_env, at(saturday, 10, 30))
    kind, words = await s.refused("raise-dispute", "c_and_f-tm")
    assert kind == "InvalidInput" and "Say why" in words
    kind, _ = await s.refused("raise-dispute", "c_and_f-sw", note="not ours")
    assert kind == "NotPermitted"
    view = await s.act("raise-dispute", "c_and_f-tm", note="Child protection concerns: S&P")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "hub")
    assert view.dispute is not None
    # 24 elapsed hours from the moment it was raised (10:30 GMT): 11:30 BST on Sunday.
    assert view.dispute.level_due_local == f"Sun 28 Mar {year} 11:30 BST"
    due = view.dispute.level_due_at
    assert due is not None and abs(due - utc(saturday + timedelta(days=1), 10, 30)) \
        < timedelta(seconds=1)
    # Work goes on meanwhile, but the contact does not move while disputed.
    view = await s.act("send-to-team", "hub-tm")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "hub")
    referred = f"dispute referred to you: {FRONT_DOOR}"
    await expect_mail(mailbox, {"c_and_f-tm": [STARTED, referred], "hub-tm": [referred]})

    await skip_to(ts_env, at(saturday + timedelta(days=1), 11, 29))
    assert (await s.view()).escalation_level == 1
    await skip_to(ts_env, at(saturday + timedelta(days=1), 11, 31))
    view = await settled(s, lambda v: v.escalation_level == 2)
    told = f"dispute not resolved within 24 hours: {FRONT_DOOR}"
    await expect_mail(mailbox, {"c_and_f-tm": [STARTED, referred], "hub-tm": [referred],
                                "hub-sm": [told], "c_and_f-sm": [told]})
    kind, _ = await s.refused("resolve-dispute", "c_and_f-tm", resolution="proceed", note="x")
    assert kind == "NotPermitted"  # the Team Managers' time has passed
    view = await s.act("resolve-dispute", "hub-sm", resolution="proceed",
                       note="Child in need: Children and Families take it")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "c_and_f")
    assert status(view, "sent_by") is DeadlineStatus.met
    kind, _ = await s.refused("raise-dispute", "c_and_f-tm", note="too late")
    assert kind == "WrongStage"
    resolved = "dispute resolved: proceed"
    await expect_mail(mailbox, {
        "c_and_f-tm": [STARTED, referred, resolved, moved("c_and_f")],
        "hub-tm": [referred, resolved, moved("c_and_f")],
        "hub-sm": [told], "c_and_f-sm": [told]})


async def test_the_sending_team_disputes_over_easter_and_a_service_manager_declines(
        ts_env, worker, mailbox):
    # Maundy Thursday 10:00 GMT: 2 working days, Good Friday and Easter Monday closed, are
    # Tuesday and Wednesday: due Wednesday 17:00 BST.
    year = easter_on_march_28(await ts_env.get_current_time())
    thursday = date(year, 3, 25)
    s, _ = await opened(ts_env, worker, "cla-to-s-and-p-special-guardianship", at(thursday, 9))
    await skip_to(ts_env, at(thursday, 10))
    view = await s.act("raise-dispute", "cla-tm", note="The order may not be made")
    assert view.dispute is not None and view.dispute.gate is None
    wednesday = thursday + timedelta(days=6)
    assert view.dispute.level_due_at == at(wednesday, 17)
    await skip_to(ts_env, at(wednesday, 16, 59))
    assert (await s.view()).escalation_level == 1
    await skip_to(ts_env, at(wednesday, 17, 1))
    await settled(s, lambda v: v.escalation_level == 2)
    view = await s.act("resolve-dispute", "s_and_p-sm", resolution="decline",
                       note="The order was not made")
    assert (view.stage, view.responsible_team) == (Stage.declined, "cla")
    referred = f"dispute referred to you: {BETWEEN_TEAMS}"
    told = f"dispute not resolved within 2 working days: {BETWEEN_TEAMS}"
    resolved = "dispute resolved: decline"
    await expect_mail(mailbox, {"s_and_p-tm": [STARTED, referred, resolved],
                                "cla-tm": [referred, resolved],
                                "cla-sm": [told], "s_and_p-sm": [told]})


# ----- "The Team should notify legal services" ---------------------------------------------


async def test_an_s37_direction_tells_legal_services(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "hub-to-s-and-p-less-urgent", at(monday, 9),
                        by="hub-sw")
    await s.act("record-rag-rating", "hub-sw")
    kind, _ = await s.refused("send-s37-direction", "hub-sw")
    assert kind == "NotPermitted"
    view = await s.act("send-s37-direction", "hub-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "s_and_p")
    assert gate(view, "sent").outcome == "s37_direction_sent"
    await expect_mail(mailbox, {
        "legal": ["Sent by the Safeguarding Hub to the receiving team: s37_direction_sent"],
        "s_and_p-tm": [STARTED, moved("s_and_p")], "hub-tm": [moved("s_and_p")]})


async def test_an_adoption_request_does_not_tell_legal_services(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "hub-to-s-and-p-less-urgent", at(monday, 9))
    await s.act("record-rag-rating", "hub-tm")
    view = await s.act("send-to-team", "hub-tm")
    assert view.stage is Stage.transferred
    await expect_mail(mailbox, {"s_and_p-tm": [STARTED, moved("s_and_p")],
                                "hub-tm": [moved("s_and_p")]})
    # Only the pathway that carries S.37 directions has the action.
    other = Scenario(ts_env.client, worker, A, "hub-to-c-and-f-child-in-need")
    await other.open(at(monday, 9), case_id="C2")
    await other.act("record-rag-rating", "hub-tm")
    kind, words = await other.refused("send-s37-direction", "hub-tm")
    assert kind == "InvalidInput" and "is not an action" in words


# ----- the Adoption Support Team Manager's consultation ------------------------------------

CONSULTED = "Adoption Support Team Manager consulted (specialist adoption assessment or " \
            "single assessment)"


async def test_a_specialist_adoption_assessment_goes_to_adoption_support(ts_env, worker,
                                                                         mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "hub-to-adoption-support", at(monday, 9))
    assert deadline(view, "sent_by").due_at == at(monday + timedelta(days=3), 17)
    await s.act("record-rag-rating", "hub-tm")
    kind, words = await s.refused("send-to-team", "hub-tm")
    assert kind == "WrongStage" and "Adoption Support Team Manager consulted" in words
    kind, _ = await s.refused("record-specialist-assessment", "hub-tm")
    assert kind == "NotPermitted"  # the Adoption Support Team Manager decides
    await s.act("record-specialist-assessment", "adoption_support-tm")
    view = await s.act("send-to-team", "hub-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "adoption_support")
    assert status(view, "sent_by") is DeadlineStatus.met
    await expect_mail(mailbox, {
        "adoption_support-tm": [STARTED, moved("adoption_support")],
        "hub-tm": [f"{CONSULTED}: specialist_assessment", moved("adoption_support")]})


async def test_a_single_assessment_does_not_go_to_adoption_support(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "hub-to-adoption-support", at(monday, 9))
    await s.act("record-rag-rating", "hub-tm")
    kind, words = await s.refused("record-single-assessment", "adoption_support-tm")
    assert kind == "InvalidInput" and "Say why" in words
    view = await s.act("record-single-assessment", "adoption_support-tm",
                       note="No adoption support need: a single assessment")
    assert not gate(view, "consultation").done
    kind, _ = await s.refused("send-to-team", "hub-tm")
    assert kind == "WrongStage"
    view = await s.act("withdraw", "hub-tm", note="Sent to Children and Families instead")
    assert (view.stage, view.responsible_team) == (Stage.withdrawn, "hub")
    await expect_mail(mailbox, {
        "adoption_support-tm": [STARTED, "transfer withdrawn"],
        "hub-tm": [f"{CONSULTED}: single_assessment"]})


# ----- the management planning discussion: a joint decision --------------------------------

PLANNING: dict[str, Any] = {"attendees": ["s_and_p_team_manager", "cla_team_manager"]}
PLANNING_TITLE = "Management planning discussion between the CLA and Support and Protection " \
                 "managers"
REVIEW: dict[str, Any] = {
    "attendees": ["child", "iro", "s_and_p_social_worker", "cla_social_worker"]}


async def test_the_planning_discussion_needs_both_managers(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "s-and-p-to-cla-section-20", at(monday, 10))
    # 4 calendar months: the same day of October, 17:00 BST.
    review_by = deadline(view, "second_review_by").due_at
    assert review_by == at(date(monday.year, 10, monday.day), 17)
    view = await s.act("record-planning-discussion", "s_and_p-tm", **PLANNING)
    planning = gate(view, "planning_discussion")
    assert not planning.done and planning.awaiting == ["Team Manager of cla"]
    kind, words = await s.refused("record-planning-discussion", "s_and_p-tm", **PLANNING)
    assert kind == "WrongStage" and "already recorded" in words
    kind, words = await s.refused("record-second-review", "s_and_p-sw", **REVIEW)
    assert kind == "WrongStage" and "planning discussion" in words
    view = await s.act("record-planning-discussion", "cla-tm", **PLANNING)
    assert gate(view, "planning_discussion").done
    await s.act("accept", "cla-tm")
    view = await s.act("record-second-review", "s_and_p-sw", **REVIEW)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cla")
    assert status(view, "second_review_by") is DeadlineStatus.met
    await expect_mail(mailbox, {
        "cla-tm": [STARTED, f"your agreement is needed: {PLANNING_TITLE}", moved("cla")],
        "s_and_p-tm": [ACCEPTED, moved("cla")]})


# ----- the end of proceedings: the permanence report only with a plan for adoption ---------


async def test_end_of_proceedings_overdue_over_christmas_with_the_permanence_report(
        ts_env, worker, mailbox):
    # Proceedings ended Wed 23 Dec: 10 working days, 25 and 28 Dec and 1 Jan closed, end on
    # Mon 11 Jan, 17:00 GMT.
    year = christmas_on_friday(await ts_env.get_current_time())
    ended = date(year, 12, 23)
    s, view = await opened(ts_env, worker, "s-and-p-to-cla-end-of-proceedings", at(ended, 10))
    due = at(date(year + 1, 1, 11), 17)
    assert deadline(view, "transfer_by").due_at == due
    await s.act("accept", "cla-tm")
    kind, words = await s.refused("record-permanence-report", "s_and_p-sw")
    assert kind == "WrongStage" and "Care plan at the end of proceedings" in words
    view = await s.act("record-adoption-plan", "s_and_p-sw")
    assert view.stage is Stage.proposed  # the report is needed with a plan for adoption
    await skip_to(ts_env, due - timedelta(minutes=1))
    assert status(await s.view(), "transfer_by") is DeadlineStatus.pending
    await skip_to(ts_env, due + timedelta(minutes=1))
    await settled(s, missed("transfer_by"))
    late = f"deadline missed: {title('s-and-p-to-cla-end-of-proceedings', 'transfer_by')}"
    expected = {"cla-tm": [STARTED, late], "s_and_p-tm": [ACCEPTED, late]}
    await expect_mail(mailbox, expected)
    view = await s.act("record-permanence-report", "s_and_p-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cla")
    assert status(view, "transfer_by") is DeadlineStatus.met_late
    expected["cla-tm"].append(moved("cla"))
    expected["s_and_p-tm"].append(moved("cla"))
    await expect_mail(mailbox, expected)


async def test_without_a_plan_for_adoption_no_permanence_report_is_needed(ts_env, worker,
                                                                           mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "s-and-p-to-cla-end-of-proceedings", at(monday, 10))
    # 10 working days from a Monday in June: the Monday two weeks on.
    assert deadline(view, "transfer_by").due_at == at(monday + timedelta(days=14), 17)
    await s.act("accept", "cla-tm")
    view = await s.act("record-other-permanence-plan", "s_and_p-tm")
    assert gate(view, "permanence_report").not_needed
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cla")
    assert status(view, "transfer_by") is DeadlineStatus.met
    kind, words = await s.refused("record-permanence-report", "s_and_p-sw")
    assert kind == "WrongStage"
    await expect_mail(mailbox, {"cla-tm": [STARTED, moved("cla")],
                                "s_and_p-tm": [ACCEPTED, moved("cla")]})


async def test_cwd_at_the_end_of_proceedings_within_10_working_days(ts_env, worker, mailbox):
    year = christmas_on_friday(await ts_env.get_current_time())
    ended = date(year, 12, 23)
    s, view = await opened(ts_env, worker, "s-and-p-to-cwd-end-of-proceedings", at(ended, 10))
    assert deadline(view, "transfer_by").due_at == at(date(year + 1, 1, 11), 17)
    await skip_to(ts_env, at(date(year + 1, 1, 8), 12))
    view = await s.act("accept", "cwd-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cwd")
    assert status(view, "transfer_by") is DeadlineStatus.met
    await expect_mail(mailbox, {"cwd-tm": [STARTED, moved("cwd")],
                                "s_and_p-tm": [ACCEPTED, moved("cwd")]})


# ----- leaving care: the day the young person turns 15 1/2 ----------------------------------

TURNS = "today: The young person turns 15 years 6 months (joint visit with a leaving care adviser)"
JOINT_VISIT: dict[str, Any] = {
    "attendees": ["young_person", "s_and_p_social_worker", "leaving_care_adviser"]}


async def test_both_team_managers_are_told_when_the_young_person_turns_15_and_a_half(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "s-and-p-to-cla-leaving-care", at(monday, 10),
                           key_dates={"turns_15_and_half": monday + timedelta(days=10)})
    kind, _ = await s.refused("set-key-date", "cla-sw", key_date="turns_15_and_half",
                              date=monday + timedelta(days=11))
    assert kind == "NotPermitted"
    kind, words = await s.refused("set-key-date", "s_and_p-tm", key_date="turns_16",
                                  date=monday + timedelta(days=11))
    assert kind == "InvalidInput" and "turns_15_and_half" in words
    # The case system corrects the day: Thursday of the second week.
    thursday = monday + timedelta(days=10)
    view = await s.act("set-key-date", "s_and_p-sw", key_date="turns_15_and_half",
                       date=thursday)
    assert view.key_dates == {"turns_15_and_half": thursday}
    await skip_to(ts_env, at(thursday, 0) - timedelta(minutes=1))
    await expect_mail(mailbox, {"cla-tm": [STARTED]})
    await skip_to(ts_env, at(thursday, 0, 1))
    await expect_mail(mailbox, {"cla-tm": [STARTED, TURNS], "s_and_p-tm": [TURNS]})
    await s.act("record-pathways-assessment", "s_and_p-sw")
    await s.act("accept", "cla-tm")
    view = await s.act("record-joint-visit", "cla-pa", **JOINT_VISIT)  # the adviser records
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cla")
    await expect_mail(mailbox, {"cla-tm": [STARTED, TURNS, moved("cla")],
                                "s_and_p-tm": [TURNS, ACCEPTED, moved("cla")]})


async def test_without_the_joint_visit_the_young_person_stays_with_support_and_protection(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "s-and-p-to-cla-leaving-care", at(monday, 10),
                        key_dates={"turns_15_and_half": monday + timedelta(days=1)})
    await s.act("record-pathways-assessment", "s_and_p-sw")
    await s.act("accept", "cla-tm")
    kind, words = await s.refused("record-joint-visit", "cla-pa",
                                  attendees=["young_person", "s_and_p_social_worker"])
    assert kind == "InvalidInput" and "leaving_care_adviser" in words
    await skip_to(ts_env, at(monday + timedelta(days=60), 10))
    view = await s.view()
    assert (view.stage, view.responsible_team) == (Stage.proposed, "s_and_p")
    assert view.waiting_for == ["Joint visit with a leaving care adviser (social worker of "
                                "s_and_p or social worker of cla or Personal Advisor of cla)",
                                "Records completed by the sending team (Team Manager of "
                                "s_and_p)"]
    await expect_mail(mailbox, {"cla-tm": [STARTED, TURNS], "s_and_p-tm": [TURNS, ACCEPTED]})


# ----- CWD: the strategy meeting the Support and Protection Team Manager chairs -------------

STRATEGY: dict[str, Any] = {"attendees": ["s_and_p_team_manager", "cwd_social_worker", "police"]}


async def test_the_strategy_meeting_comes_before_the_cp_plan(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "cwd-to-s-and-p-child-protection", at(monday, 10))
    kind, words = await s.refused("record-cp-plan", "s_and_p-tm")
    assert kind == "WrongStage" and "Strategy meeting" in words
    kind, _ = await s.refused("record-strategy-meeting", "cwd-tm", **STRATEGY)
    assert kind == "NotPermitted"  # the Support and Protection Team Manager arranges it
    kind, words = await s.refused("record-strategy-meeting", "s_and_p-tm",
                                  attendees=["cwd_social_worker", "police"])
    assert kind == "InvalidInput" and "s_and_p_team_manager" in words  # and chairs it
    await s.act("record-strategy-meeting", "s_and_p-tm", **STRATEGY)
    await s.act("accept", "s_and_p-tm")
    await s.act("record-cp-plan", "s_and_p-tm")
    view = await s.act("record-involved-worker", "cwd-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "s_and_p")
    await expect_mail(mailbox, {"s_and_p-tm": [STARTED, moved("s_and_p")],
                                "cwd-tm": [ACCEPTED, moved("s_and_p")]})


# ----- records: the child's wishes and feelings "wherever possible" --------------------------

RECORDS = list(PROTOCOL.pathways["s-and-p-to-cla-section-20"].gates["records"].items)


async def test_wishes_and_feelings_may_be_not_applicable_with_a_reason(ts_env, worker):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "s-and-p-to-cwd-end-of-proceedings", at(monday, 10))
    done = [i for i in RECORDS if i != "childs_wishes_and_feelings_recorded"]
    kind, words = await s.refused("complete-records", "s_and_p-tm", items=RECORDS,
                                  not_applicable={"childs_wishes_and_feelings_recorded": "x"})
    assert kind == "InvalidInput" and "Confirmed and not applicable at once" in words
    kind, words = await s.refused(
        "complete-records", "s_and_p-tm", items=RECORDS[1:],
        not_applicable={"case_records_complete": "none"}, note="none")
    assert kind == "InvalidInput" and "Every transfer needs case_records_complete" in words
    view = await s.act("complete-records", "s_and_p-tm", items=done,
                       not_applicable={"childs_wishes_and_feelings_recorded": "a baby"},
                       note="A baby of four months")
    records = gate(view, "records")
    assert records.done and records.not_applicable == ["childs_wishes_and_feelings_recorded"]
    assert view.stage is Stage.proposed  # the records never hold the transfer up, nor move it
