"""Seed 000's other Gateshead pathways on the time-skipping server: SGCP → A&I (CiN), the
step-downs to Early Help, and the escalations from Early Help to Tier 3.

Every due time is a literal worked out by hand from the England & Wales bank holidays
(Christmas 2026, Easter 2027 and the May Day 2027 holiday are crossed), in a scene
(tests.dates.Scene) that runs at the first stretch of calendar after today that is the same.
Clocks move with `skip_to`, never by sleeping; emails are checked at a real SMTP server, per
person.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from models.protocol import DurationField
from models.transfer import DeadlineStatus, Stage, TransferView
from tests.dates import Scene
from tests.mail import Mailbox
from tests.scenario import Scenario, deadline
from tests.transfers import eventually, skip_to

G = "gateshead"
LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)
AUDIT = ["chronology_up_to_date", "recording_up_to_date", "relationships_up_to_date",
         "genogram_current"]
# The SGCP -> A&I summary also audits the transition point, visits and observations.
CIN_AUDIT = [*AUDIT, "transition_point_identified", "sw_visits_up_to_date",
             "observations_up_to_date"]
CLOSURE = ["closure_summary_added", "case_recording_up_to_date", "chronology_up_to_date",
           "relationships_up_to_date", "genogram_current"]
LADDER = "Disagreement about the transfer"
PROPOSED = "transfer proposed to your team"


# The scenes, each from its first anchor to the last time a test moves the clock to.
XMAS = Scene("Christmas 2026", ((date(2026, 12, 7), date(2027, 1, 15)),),
             holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)))
EASTER = Scene("Easter 2027", ((date(2027, 3, 15), date(2027, 4, 15)),),
               holidays=(date(2027, 3, 26), date(2027, 3, 29)),
               clock_changes=(date(2027, 3, 28),))
MAY = Scene("May Day 2027", ((date(2027, 4, 27), date(2027, 5, 20)),), holidays=(date(2027, 5, 3),))


def inbox(mailbox: Mailbox) -> dict[str, list[str]]:
    """Who got what: short staff id (`sgcp-tm`) -> sorted headlines (subject after the case)."""
    got: dict[str, list[str]] = {}
    for rcpts, message in mailbox.messages:
        subject = str(message["Subject"]).replace("\r\n", "").replace("\n", "")  # unfold
        headline = subject.split(": ", 1)[1]
        for rcpt in rcpts:
            who = rcpt.removeprefix(f"{G}-").removesuffix(f"@{G}.example")
            got.setdefault(who, []).append(headline)
    return {who: sorted(headlines) for who, headlines in got.items()}


async def emailed(mailbox: Mailbox, expected: dict[str, list[str]]) -> None:
    """Wait until exactly these emails (all of them, no others) have arrived."""
    want = {who: sorted(headlines) for who, headlines in expected.items() if headlines}
    await eventually(lambda: inbox(mailbox), lambda got: got == want)


def add(box: dict[str, list[str]], headline: str, *people: str) -> dict[str, list[str]]:
    """Add one email to each of `people` in an expected inbox (kept sorted, as `inbox`)."""
    for who in people:
        box[who] = sorted([*box.get(who, []), headline])
    return box


async def begin(ts_env, worker, pathway: str, anchor: datetime, by: str | None = None
                ) -> tuple[Scenario, TransferView]:
    """Move the clock to the anchor (a scene's date: ahead of the server's clock) and open."""
    assert await ts_env.get_current_time() < anchor, f"{anchor} has passed"
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, G, pathway)
    return s, await s.open(anchor, by=by)


def title(s: Scenario, gate: str) -> str:
    return s.pathway.gates[gate].title


def duty_title(s: Scenario, duty: str) -> str:
    return s.pathway.after_transfer[duty].title


# ----- SGCP → A&I for Child in Need cases -----------------------------------------------

async def sgcp_to_a_and_i_until_review(ts_env, worker, anchor: datetime, review: date
                                       ) -> Scenario:
    s, _ = await begin(ts_env, worker, "sgcp-to-a-and-i", anchor)
    await s.act("sign-off-cin-plan", "sgcp-tm", items=["cin_assessment_complete",
                                                       "revised_cin_plan_complete",
                                                       "open_cin_plan_updated"])
    kind, message = await s.refused("authorise-summary", "sgcp-tm", items=CIN_AUDIT)
    assert kind == "InvalidInput" and "Say why" in message  # the rationale is required
    await s.act("authorise-summary", "sgcp-tm", items=CIN_AUDIT, note="CP plan ended; CiN plan")
    await s.act("book-cin-review", "sgcp-sw", date=review)
    kind, _ = await s.refused("record-cin-review", "sgcp-tm")
    assert kind == "WrongStage"  # the A&I worker is not identified yet
    view = await s.act("identify-worker", "a_and_i-tm")
    assert (view.stage, view.responsible_team) == (Stage.proposed, "sgcp")
    return s


async def record_review(s: Scenario) -> TransferView:
    view = await s.act("record-cin-review", "sgcp-tm",
                       attendees=["child", "family", "sgcp_social_worker",
                                  "a_and_i_social_worker", "chair"])
    # The CiN review is the point of transfer: the case moves to A&I at that instant.
    assert (view.stage, view.responsible_team) == (Stage.transferred, "a_and_i")
    return view


def sgcp_to_a_and_i_mail(s: Scenario) -> dict[str, list[str]]:
    mail = add({}, PROPOSED, "a_and_i-tm")
    add(mail, f"{title(s, 'worker_identified')}: identified", "sgcp-tm")
    add(mail, "case transferred to a_and_i", "sgcp-tm", "a_and_i-tm")
    return add(mail, "worker AI7 allocated", "sgcp-tm")


async def test_sgcp_to_a_and_i_transfers_at_the_cin_review(ts_env, worker, mailbox):
    # Review on Thu 24 Dec 2026: 25 Dec and 28 Dec (Boxing Day substitute) and 1 Jan are not
    # working days, so the 5th working day is Tue 5 Jan 2027.
    s = await sgcp_to_a_and_i_until_review(ts_env, worker, XMAS.local(2026, 12, 14, 9),
                                           XMAS.day(2026, 12, 24))
    await skip_to(ts_env, XMAS.local(2026, 12, 24, 10))
    view = await record_review(s)
    for duty in ("cin_review_minutes", "tm_audit"):
        due = deadline(view, duty)
        assert due.due_at == XMAS.utc(2027, 1, 5, 17, 0)
        assert due.due_local == XMAS.label("Tue 5 Jan 2027 17:00 GMT")
    await s.act("allocate", "a_and_i-tm", worker_id="AI7")
    await s.act("add-cin-plan-to-file", "sgcp-sw")
    await skip_to(ts_env, XMAS.local(2027, 1, 4, 15))
    await s.act("add-cin-review-minutes", "sgcp-sm")  # the chair may be the Service Manager
    await skip_to(ts_env, XMAS.local(2027, 1, 5, 16, 59))
    view = await s.act("complete-tm-audit", "sgcp-tm")
    assert view.stage is Stage.closed
    assert {deadline(view, d).status for d in ("cin_review_minutes", "tm_audit")} == {
        DeadlineStatus.met}
    await emailed(mailbox, sgcp_to_a_and_i_mail(s))


async def test_sgcp_to_a_and_i_minutes_and_audit_overdue_remind_the_sgcp_tm(
        ts_env, worker, mailbox):
    # Review on Thu 25 Mar 2027: Good Friday 26 Mar and Easter Monday 29 Mar are skipped, so
    # the 5th working day is Mon 5 Apr 2027 (after the clocks go forward: 17:00 BST).
    s = await sgcp_to_a_and_i_until_review(ts_env, worker, EASTER.local(2027, 3, 15, 9),
                                           EASTER.day(2027, 3, 25))
    await skip_to(ts_env, EASTER.local(2027, 3, 25, 10))
    await record_review(s)
    await s.act("add-cin-plan-to-file", "sgcp-tm")
    view = await s.act("allocate", "a_and_i-tm", worker_id="AI7")
    due = EASTER.utc(2027, 4, 5, 16, 0)
    assert {deadline(view, d).due_at for d in ("cin_review_minutes", "tm_audit")} == {due}
    assert deadline(view, "tm_audit").due_local == EASTER.label("Mon 5 Apr 2027 17:00 BST")
    mail = sgcp_to_a_and_i_mail(s)
    await emailed(mailbox, mail)

    await skip_to(ts_env, due - MINUTE)
    assert inbox(mailbox) == mail
    await skip_to(ts_env, due + MINUTE)
    # One reminder per duty, to the SGCP Team Manager only.
    for duty in ("cin_review_minutes", "tm_audit"):
        add(mail, f"reminder: {duty_title(s, duty)}", "sgcp-tm")
    await emailed(mailbox, mail)
    assert s.handle is not None
    result: TransferView = await s.handle.result()
    assert result.stage is Stage.closed
    assert {deadline(result, d).status for d in ("cin_review_minutes", "tm_audit")} == {
        DeadlineStatus.missed}
    await skip_to(ts_env, due + timedelta(days=10))
    assert inbox(mailbox) == mail


async def test_cin_review_without_the_a_and_i_worker_is_refused(ts_env, worker, mailbox):
    s = await sgcp_to_a_and_i_until_review(ts_env, worker, XMAS.local(2026, 12, 14, 9),
                                           XMAS.day(2026, 12, 24))
    await skip_to(ts_env, XMAS.local(2026, 12, 24, 10))
    kind, _ = await s.refused("record-cin-review", "sgcp-tm",
                              attendees=["child", "family", "sgcp_social_worker", "chair"])
    assert kind == "InvalidInput"


# ----- Step-down to Early Help: from A&I (full CiN assessment), SGCP and CWD -------------

STEP_DOWNS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "a-and-i-to-early-help": ("a_and_i", "confirm-cin-assessment", {
        "items": ["cin_assessment_complete", "plan_of_action_for_early_help"]}),
    "sgcp-to-early-help": ("sgcp", "confirm-plan-of-action", {}),
    "cwd-to-early-help": ("cwd", "confirm-plan-of-action", {}),
}
MEETING = "meeting:arranged"


async def step_down_accepted(ts_env, worker, pathway: str, anchor: datetime, meeting: date
                             ) -> tuple[Scenario, str, TransferView]:
    team, action, body = STEP_DOWNS[pathway]
    s, _ = await begin(ts_env, worker, pathway, anchor, by=f"{team}-sw")
    await s.act("arrange-meeting", f"{team}-sw", date=meeting)
    await s.act("authorise-summary", f"{team}-tm", items=AUDIT)
    await s.act(action, f"{team}-sw", **body)
    view = await s.act("accept", "early_help-tm", note="Threshold met; EH adopts the plan")
    # Accepted, but the meeting is still to come: the sending team keeps the case.
    assert (view.stage, view.responsible_team) == (Stage.proposed, team)
    return s, team, view


def step_down_mail(s: Scenario, team: str) -> dict[str, list[str]]:
    mail = add({}, PROPOSED, "early_help-tm")
    add(mail, f"{title(s, 'meeting')}: arranged", "early_help-tm")
    return add(mail, f"{title(s, 'decision')}: accepted", f"{team}-tm")


@pytest.mark.parametrize("pathway", list(STEP_DOWNS))
async def test_step_down_transfers_at_the_meeting(ts_env, worker, mailbox, pathway):
    # RFEH on Mon 21 Dec 2026; 5 working days' notice (22, 23, 24, 29, 30 Dec: 25 and 28 Dec
    # are bank holidays) puts the earliest meeting on Wed 30 Dec 2026.
    s, team, view = await step_down_accepted(ts_env, worker, pathway, XMAS.local(2026, 12, 21, 9),
                                             XMAS.day(2026, 12, 30))
    meeting = deadline(view, MEETING)
    assert meeting.due_at == XMAS.utc(2026, 12, 30, 17, 0)
    assert meeting.due_local == XMAS.label("Wed 30 Dec 2026 17:00 GMT")
    mail = step_down_mail(s, team)
    await emailed(mailbox, mail)

    await skip_to(ts_env, XMAS.local(2026, 12, 30, 11))
    view = await s.act("record-meeting", f"{team}-sw",
                       attendees=["family", "sending_social_worker", "early_help_worker"])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    assert deadline(view, MEETING).status is DeadlineStatus.met
    view = await s.act("allocate", "early_help-tm", worker_id="EH3")
    assert view.stage is Stage.closed
    add(mail, "case transferred to early_help", f"{team}-tm", "early_help-tm")
    await emailed(mailbox, add(mail, "worker EH3 allocated", f"{team}-tm"))


@pytest.mark.parametrize("pathway", list(STEP_DOWNS))
async def test_step_down_meeting_not_held_on_its_date(ts_env, worker, mailbox, pathway):
    # RFEH on Tue 27 Apr 2027; the May Day bank holiday (Mon 3 May) is skipped, so 5 working
    # days' notice puts the meeting on Wed 5 May 2027.
    s, team, view = await step_down_accepted(ts_env, worker, pathway, MAY.local(2027, 4, 27, 9),
                                             MAY.day(2027, 5, 5))
    due = MAY.utc(2027, 5, 5, 16, 0)
    assert deadline(view, MEETING).due_local == MAY.label("Wed 5 May 2027 17:00 BST")
    assert deadline(view, MEETING).due_at == due
    mail = step_down_mail(s, team)
    await emailed(mailbox, mail)

    await skip_to(ts_env, due - MINUTE)
    assert inbox(mailbox) == mail
    assert deadline(await s.view(), MEETING).status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    # Once, to those who arrange the meeting and to the EH Duty Manager.
    add(mail, f"date missed: {s.pathway.gates['meeting'].outcomes['arranged'].follow_up}",
        f"{team}-sw", f"{team}-tm", "early_help-tm")
    await emailed(mailbox, mail)
    view = await s.view()
    assert (view.stage, view.responsible_team, view.overdue) == (Stage.proposed, team, True)

    await skip_to(ts_env, MAY.local(2027, 5, 6, 10))
    view = await s.act("record-meeting", f"{team}-tm", attendees=["family", "eh_duty_manager"])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    assert deadline(view, MEETING).status is DeadlineStatus.met_late
    await emailed(mailbox, add(mail, "case transferred to early_help",
                               f"{team}-tm", "early_help-tm"))


async def test_step_down_meeting_needs_5_working_days_notice(ts_env, worker, mailbox):
    s, _ = await begin(ts_env, worker, "a-and-i-to-early-help", MAY.local(2027, 4, 27, 9))
    # Tue 4 May 2027 is only the 4th working day after Tue 27 Apr (Mon 3 May is May Day).
    kind, _ = await s.refused("arrange-meeting", "a_and_i-sw", date=MAY.day(2027, 5, 4))
    assert kind == "InvalidInput"


# ----- Step-down from A&I after a short CiN assessment: no transfer meeting --------------

async def test_short_assessment_step_down_direct_allocation(ts_env, worker, mailbox):
    s, _ = await begin(ts_env, worker, "a-and-i-to-early-help-short-assessment",
                       XMAS.local(2026, 12, 17, 9), by="a_and_i-sw")
    await s.act("authorise-summary", "a_and_i-tm", items=AUDIT)
    kind, _ = await s.refused("accept", "early_help-tm")
    assert kind == "InvalidInput"  # the outcome and rationale go with the Manager's Decision
    view = await s.act("accept", "early_help-tm", note="Direct allocation; no meeting needed")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    view = await s.act("allocate", "early_help-tm", worker_id="EH9")
    assert view.stage is Stage.closed
    mail = add({}, PROPOSED, "early_help-tm")
    add(mail, f"{title(s, 'decision')}: accepted", "a_and_i-tm")
    add(mail, "case transferred to early_help", "a_and_i-tm", "early_help-tm")
    await emailed(mailbox, add(mail, "worker EH9 allocated", "a_and_i-tm"))


async def test_short_assessment_threshold_query_goes_to_service_managers(
        ts_env, worker, mailbox):
    # Queried on Thu 25 Mar 2027: Team Managers have 5 working days, skipping Good Friday and
    # Easter Monday: until Mon 5 Apr 2027 17:00 BST.
    s, _ = await begin(ts_env, worker, "a-and-i-to-early-help-short-assessment",
                       EASTER.local(2027, 3, 25, 10))
    await s.act("authorise-summary", "a_and_i-tm", items=AUDIT)
    view = await s.act("query-threshold", "early_help-tm", note="Threshold for EH not met")
    assert (view.stage, view.responsible_team, view.escalation_level) == (
        Stage.disputed, "a_and_i", 1)
    assert view.dispute is not None
    due = EASTER.utc(2027, 4, 5, 16, 0)
    assert (view.dispute.level_due_at, view.dispute.level_due_local) == (
        due, EASTER.label("Mon 5 Apr 2027 17:00 BST"))
    mail = add({}, PROPOSED, "early_help-tm")
    add(mail, f"dispute referred to you: {LADDER}", "a_and_i-tm", "early_help-tm")
    await emailed(mailbox, mail)

    await skip_to(ts_env, due - MINUTE)
    assert inbox(mailbox) == mail
    await skip_to(ts_env, due + MINUTE)
    add(mail, f"dispute not resolved within 5 working days: {LADDER}",
        "a_and_i-sm", "early_help-sm")
    await emailed(mailbox, mail)
    kind, _ = await s.refused("resolve-dispute", "a_and_i-tm", resolution="proceed", note="x")
    assert kind == "NotPermitted"  # past Team Manager level now
    view = await s.act("resolve-dispute", "early_help-sm", resolution="proceed",
                       note="Agreed between Service Managers")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    add(mail, "dispute resolved: proceed", "a_and_i-tm", "early_help-tm")
    await emailed(mailbox, add(mail, "case transferred to early_help",
                               "a_and_i-tm", "early_help-tm"))


# ----- Escalation from Early Help to A&I, through the IRT front door ---------------------

async def test_escalation_to_irt_transfers_when_closure_summary_authorised(
        ts_env, worker, mailbox):
    s, _ = await begin(ts_env, worker, "early-help-to-irt", XMAS.local(2026, 12, 18, 9))
    kind, _ = await s.refused("add-referral", "early_help-sw")
    assert kind == "WrongStage"  # the threshold is agreed with the IRT first
    await s.act("agree-threshold", "irt-tm")
    await s.act("add-referral", "early_help-sw")
    await s.act("add-closure-summary", "early_help-sw", items=CLOSURE)
    kind, _ = await s.refused("authorise-closure-summary", "early_help-sw")
    assert kind == "NotPermitted"  # the EH Manager authorises
    view = await s.act("authorise-closure-summary", "early_help-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "irt")
    await s.act("allocate", "irt-tm", worker_id="IRT2")
    view = await s.act("record-eh-role", "early_help-sw", note="EH keeps the parenting work")
    assert view.stage is Stage.closed
    mail = add({}, PROPOSED, "irt-tm")
    add(mail, f"{title(s, 'threshold')}: agreed", "early_help-tm")
    add(mail, "case transferred to irt", "early_help-tm", "irt-tm")
    await emailed(mailbox, add(mail, "worker IRT2 allocated", "early_help-tm"))


async def test_escalation_to_irt_threshold_dispute_over_christmas(ts_env, worker, mailbox):
    # Disputed on Wed 23 Dec 2026: 24, 29, 30, 31 Dec and Mon 4 Jan 2027 are the 5 working
    # days (25 Dec, 28 Dec and 1 Jan are bank holidays).
    s, _ = await begin(ts_env, worker, "early-help-to-irt", XMAS.local(2026, 12, 23, 10))
    view = await s.act("dispute-threshold", "irt-tm", note="Does not meet Tier 3 threshold")
    assert view.dispute is not None
    due = XMAS.utc(2027, 1, 4, 17, 0)
    assert (view.dispute.level_due_at, view.dispute.level_due_local) == (
        due, XMAS.label("Mon 4 Jan 2027 17:00 GMT"))
    mail = add({}, PROPOSED, "irt-tm")
    add(mail, f"dispute referred to you: {LADDER}", "irt-tm", "early_help-tm")
    await emailed(mailbox, mail)
    await skip_to(ts_env, due - MINUTE)
    assert inbox(mailbox) == mail
    await skip_to(ts_env, due + MINUTE)
    add(mail, f"dispute not resolved within 5 working days: {LADDER}",
        "irt-sm", "early_help-sm")
    await emailed(mailbox, mail)
    view = await s.act("resolve-dispute", "irt-sm", resolution="decline",
                       note="Below threshold; EH continues")
    assert (view.stage, view.responsible_team) == (Stage.declined, "early_help")
    await emailed(mailbox, add(mail, "dispute resolved: decline", "irt-tm", "early_help-tm"))


# ----- Return from Early Help to the Tier 3 team that held it in the last 3 months -------

RETURNS = {"early-help-return-to-a-and-i": "a_and_i", "early-help-return-to-sgcp": "sgcp"}


@pytest.mark.parametrize("pathway", list(RETURNS))
async def test_return_to_previous_tier3_team(ts_env, worker, mailbox, pathway):
    tier3 = RETURNS[pathway]
    s, _ = await begin(ts_env, worker, pathway, XMAS.local(2026, 12, 7, 9))
    await s.act("confirm-previous-involvement", "early_help-tm")
    await s.act("confirm-threshold", f"{tier3}-tm")
    await s.act("add-referral", "early_help-sw")
    await s.act("record-taf-meeting", "early_help-sw",
                attendees=["family", "early_help_worker", "tier3_manager"])
    view = await s.act("add-closure-summary", "early_help-sw", items=CLOSURE)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "early_help")
    view = await s.act("authorise-closure-summary", "early_help-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, tier3)
    view = await s.act("allocate", f"{tier3}-tm", worker_id="T3W")
    assert view.stage is Stage.closed
    mail = add({}, PROPOSED, f"{tier3}-tm")
    add(mail, f"{title(s, 'threshold')}: confirmed", "early_help-tm")
    add(mail, f"case transferred to {tier3}", "early_help-tm", f"{tier3}-tm")
    await emailed(mailbox, add(mail, "worker T3W allocated", "early_help-tm"))


async def not_accepted(ts_env, worker, pathway: str) -> tuple[Scenario, dict[str, list[str]]]:
    # Not accepted on Fri 30 Apr 2027: no dispute, the EH Manager is told.
    tier3 = RETURNS[pathway]
    s, _ = await begin(ts_env, worker, pathway, MAY.local(2027, 4, 30, 10))
    await s.act("confirm-previous-involvement", "early_help-tm")
    kind, _ = await s.refused("not-accept", f"{tier3}-tm")
    assert kind == "InvalidInput"  # why it is not accepted
    view = await s.act("not-accept", f"{tier3}-tm", note="Tier 3 threshold not met")
    assert (view.stage, view.responsible_team, view.dispute) == (
        Stage.proposed, "early_help", None)
    mail = add({}, PROPOSED, f"{tier3}-tm")
    add(mail, f"{title(s, 'threshold')}: not_accepted", "early_help-tm")
    return s, mail


@pytest.mark.parametrize("pathway", list(RETURNS))
async def test_not_accepted_eh_manager_records_next_steps(ts_env, worker, mailbox, pathway):
    tier3 = RETURNS[pathway]
    s, mail = await not_accepted(ts_env, worker, pathway)
    await emailed(mailbox, mail)
    # The EH Manager's decision, with next steps for EH: the referral is withdrawn.
    view = await s.act("withdraw", "early_help-tm", note="Next steps for EH: safety planning")
    assert (view.stage, view.responsible_team) == (Stage.withdrawn, "early_help")
    await emailed(mailbox, add(mail, "transfer withdrawn", f"{tier3}-tm"))
    await skip_to(ts_env, MAY.utc(2027, 5, 10, 16, 0) + MINUTE)
    assert inbox(mailbox) == mail  # no Service Manager: it was never a dispute


@pytest.mark.parametrize("pathway", list(RETURNS))
async def test_not_accepted_then_reconsidered_by_tier3(ts_env, worker, mailbox, pathway):
    tier3 = RETURNS[pathway]
    s, mail = await not_accepted(ts_env, worker, pathway)
    await skip_to(ts_env, MAY.utc(2027, 5, 10, 16, 0) + MINUTE)
    await emailed(mailbox, mail)  # nobody else heard of it
    await s.act("confirm-threshold", f"{tier3}-tm")
    await s.act("add-referral", "early_help-sw")
    await s.act("add-closure-summary", "early_help-sw", items=CLOSURE)
    view = await s.act("authorise-closure-summary", "early_help-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, tier3)
    add(mail, f"{title(s, 'threshold')}: confirmed", "early_help-tm")
    await emailed(mailbox, add(mail, f"case transferred to {tier3}",
                               f"{tier3}-tm", "early_help-tm"))


def test_durations_in_months() -> None:
    TypeAdapter(DurationField).validate_python("3 months")
