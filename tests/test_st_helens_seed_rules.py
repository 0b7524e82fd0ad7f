"""Seed 001 (St Helens) rules put right or newly encoded in issue 8, each with a happy and a
breach or refusal path, through `tests.scenario.Scenario` (it acts as the API does).

"No decisions can be unilateral": both Team Managers agree the transfer, both must agree to
extend its clocks. Disputes are raised by either side at any stage and climb "from Team
Managers, to Heads of Service and ... to Senior Assistant Directors", the Heads of Service
being the two teams' own. The Case Transfer Meeting agrees the dates of the joint visit and of
full transfer; its expected attendees, the Duty worker and manager at the first CiN meeting or
ICPC, the lead professional at the final CiN meeting are required; Legal hears of a case in
proceedings; the network is told after the transfer; from CWD a Personal Advisor is
allocated with the worker; Early Help's Advanced Practitioner may allocate.

Every date comes from the time-skipping server's present (the suite holds on any day it runs):
the scenes are the next stretch of calendar with a known shape -- a Christmas on a Friday, an
early Easter, the May Day bank holiday, a Monday in June -- and each due date is counted by
hand within it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from models.protocol import Role, Side
from models.transfer import DeadlineStatus, Stage, TransferView
from tests.scenario import PROTOCOLS, Scenario, deadline, expect_mail, inbox, settled
from tests.seed_scenes import (
    MINUTE,
    at,
    at_17,
    christmas_on_a_friday,
    early_easter,
    june_monday,
    may_day,
)
from tests.transfers import skip_to

SH = "st_helens"
PROTOCOL = PROTOCOLS[SH]
QA = list(PROTOCOL.pathways["duty-to-assessment"].gates["qa_template"].items)
CONSENT = list(PROTOCOL.pathways["assessment-to-early-help"].gates["family_consent"].items)
EXPECTED = ["chair", "sending_team_manager", "receiving_team_manager",
            "allocated_social_worker", "advanced_practitioner"]
FAMILY_VISIT = ["family", "sending_social_worker", "receiving_social_worker"]

STARTED = "transfer proposed to your team"
READY = "Case Transfer Meeting: ready"
AGREEMENT = "your agreement is needed: Transfer agreed by both Team Managers"
LADDER = "Dispute about the case transfer"
REFERRED = f"dispute referred to you: {LADDER}"
ESCALATED = f"dispute escalated to you: {LADDER}"
SAD_TOLD = f"dispute not resolved within 7 working days: {LADDER}"
TWO_WEEKS = "Transfer within 2 weeks of the Case Transfer Meeting"
FOUR_WEEKS = "Transfer complete within 4 weeks of the Transfer Summary"
QA_FILED = "Case transfer QA template completed and filed by the transferring Team Manager"
HOS = {"duty": "duty_teams-hos", "assessment": "assessment_teams-hos",
       "permanence": "permanence_service-hos", "cwd": "cwd_service-hos",
       "early_help": "early_help_service-hos"}


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: Any) -> Scenario:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, SH, pathway)
    await s.open(anchor)
    return s


# "Provide details of scheduled case management tasks and actions and specify who is best
# placed to complete the work": recorded at the meeting.
SCHEDULED_TASKS = ["tasks_and_actions_listed", "current_or_new_worker_named_for_each"]


async def agreed_at_the_meeting(ts_env: Any, s: Scenario, monday: date) -> TransferView:
    """QA template filed by 09:30, the meeting at 14:00 agrees it ready, both sides agree."""
    sending, receiving = s.pathway.sending, s.pathway.receiving
    await skip_to(ts_env, at(monday, 9, 30))
    await s.act("file-qa-template", f"{sending}-tm", items=QA)
    await skip_to(ts_env, at(monday, 14))
    await s.act("agree-transfer", "hos-1", attendees=EXPECTED)
    await s.act("record-scheduled-tasks", "hos-1", items=SCHEDULED_TASKS)
    await s.act("agree-transfer-both-sides", f"{sending}-tm")
    return await s.act("agree-transfer-both-sides", f"{receiving}-tm")


def gate(view: TransferView, gate_id: str) -> Any:
    return next(g for g in view.gates if g.id == gate_id)


# ----- both sides decide; the meeting's attendees; the dates it agrees -------------------------

async def test_both_team_managers_agree_the_transfer_at_a_meeting_with_its_attendees(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "duty-to-assessment", at(monday, 10))
    # Good practice: the Team Managers' case discussion, both of them there; nothing waits.
    await skip_to(ts_env, at(monday + timedelta(days=1), 10))
    kind, words = await s.refused("record-tm-case-discussion", "duty-tm",
                                  attendees=["sending_team_manager"])
    assert kind == "InvalidInput" and "receiving_team_manager" in words
    await s.act("record-tm-case-discussion", "assessment-tm",
                attendees=["sending_team_manager", "receiving_team_manager"])

    meeting = monday + timedelta(days=7)
    await skip_to(ts_env, at(meeting, 9, 30))
    await s.act("file-qa-template", "duty-tm", items=QA)
    await skip_to(ts_env, at(meeting, 14))
    kind, words = await s.refused("agree-transfer", "hos-1", attendees=EXPECTED[:-1])
    assert kind == "InvalidInput" and "counts only with advanced_practitioner attending" in words
    view = await s.act("agree-transfer", "hos-1", attendees=[*EXPECTED, "legal_representative"])
    assert gate(view, "case_transfer_meeting").done
    await s.act("record-scheduled-tasks", "duty-tm", items=SCHEDULED_TASKS)
    # No decision is unilateral: the sending Team Manager's agreement alone moves nothing.
    kind, _ = await s.refused("agree-transfer-both-sides", "duty-sw")
    assert kind == "NotPermitted"
    view = await s.act("agree-transfer-both-sides", "duty-tm")
    assert not gate(view, "transfer_agreed").done
    assert gate(view, "transfer_agreed").awaiting == ["Team Manager of assessment"]
    kind, words = await s.refused("agree-transfer-both-sides", "duty-tm")
    assert kind == "WrongStage" and "waits for the Team Manager of assessment" in words
    view = await s.act("agree-transfer-both-sides", "assessment-tm")
    assert gate(view, "transfer_agreed").done

    # The dates agreed at the meeting: the joint visit's and full transfer's (the first CiN
    # meeting): each a deadline at 17:00 that day, met when it is recorded.
    view = await s.act("agree-joint-visit-date", "duty-sw", date=meeting + timedelta(days=2))
    assert deadline(view, "joint_visit:date_agreed").due_at == at_17(meeting + timedelta(days=2))
    view = await s.act("agree-full-transfer-date", "duty-tm", date=meeting + timedelta(days=3))
    full = deadline(view, "first_cin_meeting_or_icpc:date_agreed")
    assert full.due_at == at_17(meeting + timedelta(days=3))
    await skip_to(ts_env, at(meeting + timedelta(days=1), 10))
    kind, _ = await s.refused("record-joint-visit", "duty-sw", attendees=FAMILY_VISIT[1:])
    assert kind == "InvalidInput"  # the visit involves the family
    view = await s.act("record-joint-visit", "duty-sw", attendees=FAMILY_VISIT)
    assert deadline(view, "joint_visit:date_agreed").status is DeadlineStatus.met
    await skip_to(ts_env, at(meeting + timedelta(days=3), 11))
    kind, words = await s.refused("record-first-cin-meeting-or-icpc", "assessment-tm",
                                  attendees=["duty_social_worker", "assessment_social_worker"])
    assert kind == "InvalidInput" and "duty_team_manager" in words
    view = await s.act("record-first-cin-meeting-or-icpc", "assessment-tm", attendees=[
        "duty_social_worker", "duty_team_manager", "assessment_social_worker"])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "assessment")
    assert deadline(view, "first_cin_meeting_or_icpc:date_agreed").status is \
        DeadlineStatus.met
    view = await s.act("allocate", "assessment-tm", worker_id="W1")
    assert view.stage is Stage.allocated
    dated = ("First Child in Need Meeting or Initial Child Protection Conference held: "
             "date_agreed")
    await expect_mail(mailbox, SH, {
        "assessment-tm": [STARTED, READY, AGREEMENT, dated, "case transferred to assessment"],
        "duty-tm": [READY, dated, "case transferred to assessment", "worker W1 allocated"]})


# ----- disputes: either side, any stage; TMs, the relevant Heads of Service, the SAD -----------

async def test_either_side_disputes_before_the_meeting_and_it_climbs_over_easter(
        ts_env, worker, mailbox):
    sunday = early_easter(await ts_env.get_current_time())
    thursday = sunday - timedelta(days=3)  # Maundy Thursday
    s = await opened(ts_env, worker, "cwd-to-permanence", at(thursday, 9))
    await skip_to(ts_env, at(thursday, 10))
    kind, _ = await s.refused("raise-dispute", "permanence-sw", note="x")
    assert kind == "NotPermitted"
    view = await s.act("raise-dispute", "permanence-tm", note="Not a plan of permanence yet")
    assert (view.stage, view.escalation_level, view.responsible_team) == (
        Stage.disputed, 1, "cwd")
    assert view.dispute is not None
    # The Team Managers' 2 working days skip Good Friday and Easter Monday: the Wednesday.
    tms_due = at_17(sunday + timedelta(days=3))
    assert view.dispute.level_due_at == tms_due
    await s.act("acknowledge-dispute", "cwd-tm")  # the clock runs on
    kind, _ = await s.refused("resolve-dispute", "hos-1", resolution="proceed", note="x")
    assert kind == "NotPermitted"  # not the Head of Service of either team

    await skip_to(ts_env, tms_due + MINUTE)
    view = await settled(s, lambda v: v.escalation_level == 2)
    # The relevant Heads of Service: five working days from the Wednesday, the Wednesday after.
    hos_due = at_17(sunday + timedelta(days=10))
    assert view.dispute is not None and view.dispute.level_due_at == hos_due
    escalated = {HOS["cwd"]: [ESCALATED], HOS["permanence"]: [ESCALATED]}
    await expect_mail(mailbox, SH, {"cwd-tm": [REFERRED], "permanence-tm": [STARTED, REFERRED],
                                    **escalated})
    await skip_to(ts_env, hos_due - MINUTE)
    assert inbox(mailbox, SH, "sad") == []
    await skip_to(ts_env, hos_due + MINUTE)
    view = await settled(s, lambda v: v.escalation_level == 3)
    kind, _ = await s.refused("resolve-dispute", HOS["permanence"], resolution="proceed",
                              note="x")
    assert kind == "NotPermitted"  # their five working days have passed
    await skip_to(ts_env, at(sunday + timedelta(days=11), 10))
    view = await s.act("resolve-dispute", "sad", resolution="proceed", note="Plan ratified")
    assert (view.stage, view.responsible_team, view.dispute) == (Stage.proposed, "cwd", None)
    resolved = "dispute resolved: proceed"
    await expect_mail(mailbox, SH, {"cwd-tm": [REFERRED, resolved],
                                    "permanence-tm": [STARTED, REFERRED, resolved],
                                    **escalated, "sad": [SAD_TOLD]})


async def test_a_relevant_head_of_service_may_determine_the_pathway_at_once(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "duty-to-permanence", at(monday, 10))
    await agreed_at_the_meeting(ts_env, s, monday + timedelta(days=7))
    await skip_to(ts_env, at(monday + timedelta(days=8), 10))
    view = await s.act("raise-dispute", "duty-tm", note="Age assessment disputed")
    assert view.escalation_level == 1
    view = await s.act("resolve-dispute", HOS["permanence"], resolution="redirect",
                       to_team="assessment", note="Assessment first")
    assert (view.stage, view.redirected_to, view.responsible_team) == (
        Stage.redirected, "assessment", "duty")
    resolved = "dispute resolved: redirect"
    await expect_mail(mailbox, SH, {
        "duty-tm": [READY, REFERRED, resolved],
        "permanence-tm": [STARTED, READY, AGREEMENT, REFERRED, resolved],
        "assessment-tm": [resolved]})


# ----- the transfer clocks: extended only when both sides agree --------------------------------

async def test_extending_the_two_weeks_needs_both_team_managers_over_christmas(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time(), lead=16)
    # Summary Fri 11 Dec; meeting Mon 14 Dec: two calendar weeks end on Mon 28 Dec (Boxing
    # Day's substitute) at 17:00; four weeks after the summary, Fri 8 Jan.
    s = await opened(ts_env, worker, "duty-to-assessment",
                     at(christmas - timedelta(days=14), 10))
    await agreed_at_the_meeting(ts_env, s, christmas - timedelta(days=11))
    view = await s.view()
    assert deadline(view, "transfer_after_meeting").due_at == at_17(christmas + timedelta(days=3))
    assert deadline(view, "transfer_by").due_at == at_17(christmas + timedelta(days=14))
    await skip_to(ts_env, at(christmas - timedelta(days=8), 10))  # Thu 17 Dec: the hearing moved
    until = christmas + timedelta(days=11)  # Tue 5 Jan
    kind, _ = await s.refused("extend-deadline", "hos-1", deadline="transfer_after_meeting",
                              until=until, note="x")
    assert kind == "NotPermitted"
    view = await s.act("extend-deadline", "duty-tm", deadline="transfer_after_meeting",
                       until=until, note="First CiN meeting moved to January")
    assert deadline(view, "transfer_after_meeting").due_at == \
        at_17(christmas + timedelta(days=3))  # one side's offer only
    view = await s.act("extend-deadline", "assessment-tm", deadline="transfer_after_meeting",
                       until=until, note="Agreed")
    assert deadline(view, "transfer_after_meeting").due_at == at_17(until)

    await skip_to(ts_env, at_17(christmas + timedelta(days=3)) + MINUTE)
    assert deadline(await s.view(), "transfer_after_meeting").status is DeadlineStatus.pending
    await skip_to(ts_env, at_17(until) + MINUTE)
    await settled(s, lambda v: deadline(v, "transfer_after_meeting").status
                  is DeadlineStatus.missed)
    await skip_to(ts_env, at_17(christmas + timedelta(days=14)) + MINUTE)
    view = await settled(s, lambda v: deadline(v, "transfer_by").status is DeadlineStatus.missed)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "duty")
    two, four = f"deadline missed: {TWO_WEEKS}", f"deadline missed: {FOUR_WEEKS}"
    await expect_mail(mailbox, SH, {
        "duty-tm": [READY, two, four],
        "assessment-tm": [STARTED, READY, AGREEMENT, f"extension proposed: {TWO_WEEKS}", two,
                          four],
        HOS["duty"]: [four], HOS["assessment"]: [four]})


# ----- after the transfer: a Personal Advisor from CWD, the network told -----------------------

async def test_from_cwd_a_personal_advisor_is_allocated_within_a_working_day_of_the_transfer(
        ts_env, worker, mailbox):
    holiday = may_day(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "cwd-to-permanence", at(holiday - timedelta(days=14), 10))
    await agreed_at_the_meeting(ts_env, s, holiday - timedelta(days=7))
    await s.act("record-joint-visit", "cwd-sw", attendees=FAMILY_VISIT)
    friday = holiday - timedelta(days=3)
    await skip_to(ts_env, at(friday, 11))
    kind, _ = await s.refused("record-personal-advisor-allocated", "permanence-tm")
    assert kind == "WrongStage"  # after the transfer
    view = await s.act("record-permanence-plan-ratified", "permanence-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "permanence")
    # One working day from Friday, May Day skipped: the Tuesday, 17:00 BST.
    due = at_17(holiday + timedelta(days=1))
    assert deadline(view, "personal_advisor_allocated").due_at == due
    assert deadline(view, "allocated_by").due_at == due
    view = await s.act("allocate", "cwd-tm", worker_id="W1")  # either Team Manager
    assert view.stage is Stage.allocated
    await skip_to(ts_env, due - MINUTE)
    assert deadline(await s.view(), "personal_advisor_allocated").status is \
        DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "personal_advisor_allocated").status
                  is DeadlineStatus.missed)
    reminder = "reminder: Personal Advisor allocated"
    await expect_mail(mailbox, SH, {
        "permanence-tm": [STARTED, READY, AGREEMENT, "case transferred to permanence",
                          reminder],
        "cwd-tm": [READY, "case transferred to permanence", "worker W1 allocated", reminder]})
    view = await s.act("record-personal-advisor-allocated", "permanence-tm")
    assert deadline(view, "personal_advisor_allocated").status is DeadlineStatus.met_late
    assert view.stage is Stage.allocated  # the network is still to be told
    kind, _ = await s.refused("record-network-informed", "early_help-sw")
    assert kind == "NotPermitted"
    view = await s.act("record-network-informed", "cwd-sw")
    assert view.stage is Stage.closed


# ----- Early Help: the date of full transfer missed; the lead professional; the AP allocates ---

async def test_step_down_date_missed_lead_professional_required_ap_allocates(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "assessment-to-early-help", at(monday, 10))
    meeting = monday + timedelta(days=7)
    await agreed_at_the_meeting(ts_env, s, meeting)
    await s.act("record-family-consent", "assessment-sw", items=CONSENT)
    await s.act("record-front-door-referral", "assessment-sw")
    await s.act("allocate-referral", "early_help-tm")  # on receiving the contact
    wednesday = meeting + timedelta(days=2)
    view = await s.act("agree-full-transfer-date", "assessment-tm", date=wednesday)
    assert deadline(view, "final_cin_meeting:date_agreed").due_at == at_17(wednesday)
    await skip_to(ts_env, at_17(wednesday) - MINUTE)
    assert deadline(await s.view(), "final_cin_meeting:date_agreed").status is \
        DeadlineStatus.pending
    await skip_to(ts_env, at_17(wednesday) + MINUTE)
    await settled(s, lambda v: deadline(v, "final_cin_meeting:date_agreed").status
                  is DeadlineStatus.missed)
    await skip_to(ts_env, at(wednesday + timedelta(days=1), 10))
    kind, words = await s.refused("record-final-cin-meeting", "assessment-tm",
                                  attendees=["family", "assessment_social_worker"])
    assert kind == "InvalidInput" and "lead_professional" in words
    view = await s.act("record-final-cin-meeting", "assessment-tm",
                       attendees=["lead_professional", "family"])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    kind, _ = await s.refused("allocate", "early_help-sw", worker_id="EH1")
    assert kind == "NotPermitted"
    view = await s.act("allocate", "early_help-ap", worker_id="EH1")
    assert view.stage is Stage.allocated
    view = await s.act("record-network-informed", "early_help-sw")
    assert view.stage is Stage.closed
    dated = "Final Child in Need Meeting held, attended by the identified Lead Professional: " \
            "date_agreed"
    missed = "date missed: Full transfer on the date agreed at the Case Transfer Meeting"
    await expect_mail(mailbox, SH, {
        "assessment-tm": [READY, dated, missed, "case transferred to early_help",
                          "worker EH1 allocated"],
        "early_help-tm": [STARTED, READY, AGREEMENT, dated, missed,
                          "case transferred to early_help"]})


# ----- In proceedings: Legal hears; the joint visit's date missed ------------------------------

async def test_legal_hears_of_a_case_in_proceedings_and_a_missed_joint_visit_is_flagged(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "assessment-to-permanence", at(monday, 10))
    meeting = monday + timedelta(days=7)
    await agreed_at_the_meeting(ts_env, s, meeting)
    tuesday = meeting + timedelta(days=1)
    await s.act("agree-joint-visit-date", "permanence-tm", date=tuesday)
    await skip_to(ts_env, at_17(tuesday) + MINUTE)
    await settled(s, lambda v: deadline(v, "joint_visit:date_agreed").status
                  is DeadlineStatus.missed)
    missed = "date missed: Joint visit on the date agreed at the Case Transfer Meeting"
    await expect_mail(mailbox, SH, {
        "legal": [QA_FILED],
        "assessment-tm": [READY, missed], "permanence-tm": [STARTED, READY, AGREEMENT, missed],
        "assessment-sw": [missed], "permanence-sw": [missed]})
    await skip_to(ts_env, at(tuesday + timedelta(days=1), 10))
    view = await s.act("record-joint-visit", "assessment-sw", attendees=FAMILY_VISIT)
    assert deadline(view, "joint_visit:date_agreed").status is DeadlineStatus.met_late


# ----- the protocol file ------------------------------------------------------------------------

def test_the_ladder_and_the_relevant_heads_of_service() -> None:
    ladder = PROTOCOL.ladders["case_transfer_dispute"]
    assert [(lv.role, lv.of) for lv in ladder.levels] == [
        (Role.team_manager, [Side.sending, Side.receiving]),
        (Role.head_of_service, [Side.sending, Side.receiving]),
        (Role.senior_assistant_director, [Side.authority])]
    assert {t for svc in PROTOCOL.services.values() for t in svc.teams} == set(PROTOCOL.teams)
    for pathway in PROTOCOL.pathways.values():
        if pathway.stays or pathway.sending in PROTOCOL.externals:
            continue  # no case moves between our teams: an alert, a notice, a transfer in
        assert pathway.raise_dispute is not None
        assert pathway.raise_dispute.ladder == "case_transfer_dispute"
        if "case_transfer_meeting" not in pathway.gates:
            continue  # a contact or referral (issue 9's routes): no Case Transfer Meeting
        assert pathway.gates["transfer_agreed"].joint
        assert "transfer_agreed" in pathway.transfer.requires
        assert "tm_case_discussion" not in pathway.transfer.requires  # good practice only
        assert pathway.deadlines["transfer_by"].extend_needs_all
        assert pathway.deadlines["transfer_after_meeting"].extend_needs_all
        assert pathway.after_transfer["network_informed"].within is None
