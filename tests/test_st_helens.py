"""St Helens (seed 001) on the time-skipping server: the weekly Case Transfer Meeting and
its outcomes, the 10-working-day / 2-week / 4-week clocks, the Heads of Service -> Senior
Assistant Director ladder, the family's involvement before transfer, and allocation
within 1 (Early Help: 3) working days with the reason recorded when late.

Due times are hand-computed literals (England & Wales bank holidays: Christmas 2026 with
Boxing Day's substitute on Mon 28 Dec, New Year 2027, Easter 2027 (Fri 26 / Mon 29 Mar),
May Day 2027 (Mon 3 May); British Summer Time from Sun 28 Mar 2027), each in a scene
(tests.dates.Scene) that runs at the first stretch of calendar after today that is the same.
Timers are crossed by moving the server's clock, never by sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from datetime import timedelta as td
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.protocol import Role, Side
from models.transfer import DeadlineStatus, Stage, TransferView
from tests import scenario
from tests.dates import Scene
from tests.scenario import PROTOCOLS, Scenario, deadline, settled, status
from tests.scenario import inbox as _inbox
from tests.transfers import skip_to

SH = "st_helens"
PROTOCOL = PROTOCOLS[SH]
LONDON = ZoneInfo("Europe/London")
QA_ITEMS = list(PROTOCOL.pathways["duty-to-assessment"].gates["qa_template"].items)
CONSENT = list(PROTOCOL.pathways["assessment-to-early-help"].gates["family_consent"].items)
MEETING = {"attendees": ["chair", "sending_team_manager", "receiving_team_manager",
                         "allocated_social_worker", "advanced_practitioner"]}

# Email headlines (the subject is "[st_helens] Case C1: <headline>").
STARTED = "transfer proposed to your team"
READY = "Case Transfer Meeting: ready"
POSTPONED = "Case Transfer Meeting: postponed"
QA_REJECTED = "Case Transfer Meeting: qa_rejected"
MEETING_MISSED = ("deadline missed: Considered at the Case Transfer Meeting within 10 working "
                  "days of the summary")
FOUR_WEEKS_MISSED = "deadline missed: Transfer complete within 4 weeks of the Transfer Summary"
TWO_WEEKS_MISSED = "deadline missed: Transfer within 2 weeks of the Case Transfer Meeting"
REPRESENT_MISSED = ("date missed: Case re-presented to the Case Transfer Meeting on the "
                    "agreed date")
LADDER = "Dispute about the case transfer"
REFERRED = f"dispute referred to you: {LADDER}"
ESCALATED = f"dispute escalated to you: {LADDER}"
SAD_TOLD = f"dispute not resolved within 7 working days: {LADDER}"
AGREEMENT = "your agreement is needed: Transfer agreed by both Team Managers"
QA_FILED = "Case transfer QA template completed and filed by the transferring Team Manager"
# The Head of Service of each team's service ("the relevant Heads of Service").
HOS = {"duty": "duty_teams-hos", "assessment": "assessment_teams-hos",
       "permanence": "permanence_service-hos", "cwd": "cwd_service-hos",
       "early_help": "early_help_service-hos", "mash": "front_door_service-hos",
       "adoption": "fostering_and_adoption_service-hos"}


# The scenes: each from its first summary to the last time a test moves the clock to.
XMAS = Scene("Christmas 2026", ((date(2026, 12, 11), date(2027, 2, 13)),),
             holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)))
EASTER = Scene("Easter 2027", ((date(2027, 3, 17), date(2027, 4, 20)),),
               holidays=(date(2027, 3, 26), date(2027, 3, 29)),
               clock_changes=(date(2027, 3, 28),))
MAY = Scene("May Day 2027", ((date(2027, 4, 23), date(2027, 5, 25)),), holidays=(date(2027, 5, 3),))


def transferred_to(team: str) -> str:
    return f"case transferred to {team}"


# ----- helpers -------------------------------------------------------------------------


async def expect_mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await scenario.expect_mail(mailbox, SH, expected)


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime) -> Scenario:
    s = Scenario(ts_env.client, worker, SH, pathway)
    await skip_to(ts_env, anchor)
    await s.open(anchor)
    return s


async def file_qa(ts_env: Any, s: Scenario, moment: datetime) -> TransferView:
    await skip_to(ts_env, moment)
    return await s.act("file-qa-template", f"{s.pathway.sending}-tm", items=QA_ITEMS)


SCHEDULED_TASKS = ["tasks_and_actions_listed", "current_or_new_worker_named_for_each"]


async def meet(ts_env: Any, s: Scenario, moment: datetime, action: str = "agree-transfer",
               chair: str = "hos-1", **body: Any) -> TransferView:
    await skip_to(ts_env, moment)
    if action != "agree-transfer":
        return await s.act(action, chair, **body)
    await s.act(action, chair, **{**MEETING, **body})
    # The meeting names the case's scheduled tasks and who does each, recorded at once.
    return await s.act("record-scheduled-tasks", chair, items=SCHEDULED_TASKS)


# ----- the pathways: one timetable each, from the summary to allocation -----------------


@dataclass(frozen=True)
class Timetable:
    pathway: str
    anchor: datetime            # the Transfer Summary is issued
    meeting_by: datetime        # 10 working days after the anchor
    transfer_by: datetime       # 4 weeks after the anchor
    meeting: date               # QA template filed 09:30, Case Transfer Meeting 14:00
    two_weeks: datetime         # 2 weeks after the meeting
    steps_at: datetime          # the transfer point; the family's involvement is recorded last
    steps: tuple[tuple[str, str, dict[str, Any]], ...]
    allocated_by: datetime      # 1 (Early Help: 3) working days after the transfer
    allocator: str
    agreed: date | None = None  # the date of full transfer agreed at the meeting

    @property
    def sending(self) -> str:
        return PROTOCOL.pathways[self.pathway].sending

    @property
    def receiving(self) -> str:
        return PROTOCOL.pathways[self.pathway].receiving


JOINT_VISIT = {"attendees": ["family", "sending_social_worker", "receiving_social_worker"]}

TIMETABLES = [
    # Summary Fri 11 Dec 2026: the 10th working day skips Fri 25 and Mon 28 Dec (Boxing Day
    # substitute). Met Mon 14 Dec: 2 calendar weeks end on Mon 28 Dec, a bank holiday.
    # Transfer at the first CiN meeting, Tue 22 Dec; allocation by Wed 23 Dec.
    Timetable(
        pathway="duty-to-assessment", anchor=XMAS.local(2026, 12, 11, 10),
        meeting_by=XMAS.utc(2026, 12, 29, 17), transfer_by=XMAS.utc(2027, 1, 8, 17),
        meeting=XMAS.day(2026, 12, 14), two_weeks=XMAS.utc(2026, 12, 28, 17),
        steps_at=XMAS.local(2026, 12, 22, 10),
        steps=(("record-first-cin-meeting-or-icpc", "assessment-tm",
                {"attendees": ["duty_social_worker", "duty_team_manager",
                               "assessment_social_worker"]}),
               ("record-joint-visit", "duty-sw", JOINT_VISIT)),
        allocated_by=XMAS.utc(2026, 12, 23, 17), allocator="assessment-tm"),
    # Summary Wed 17 Mar 2027: Good Friday and Easter Monday skipped; BST from 28 Mar, so
    # 17:00 London is 16:00 UTC. Transfer at the Final Hearing Thu 25 Mar; the 1 working day
    # for allocation skips Easter: Tue 30 Mar.
    Timetable(
        pathway="assessment-to-permanence", anchor=EASTER.local(2027, 3, 17, 10),
        meeting_by=EASTER.utc(2027, 4, 2, 16), transfer_by=EASTER.utc(2027, 4, 14, 16),
        meeting=EASTER.day(2027, 3, 22), two_weeks=EASTER.utc(2027, 4, 5, 16),
        steps_at=EASTER.local(2027, 3, 25, 11),
        steps=(("record-final-hearing", "assessment-tm", {}),
               ("record-joint-visit", "permanence-sw", JOINT_VISIT)),
        allocated_by=EASTER.utc(2027, 3, 30, 16), allocator="permanence-tm"),
    # Summary Fri 23 Apr 2027: May Day (Mon 3 May) skipped. Plan of permanence ratified Fri
    # 30 Apr; allocation (by the CWD Team Manager here) by Tue 4 May.
    Timetable(
        pathway="cwd-to-permanence", anchor=MAY.local(2027, 4, 23, 10),
        meeting_by=MAY.utc(2027, 5, 10, 16), transfer_by=MAY.utc(2027, 5, 21, 16),
        meeting=MAY.day(2027, 4, 26), two_weeks=MAY.utc(2027, 5, 10, 16),
        steps_at=MAY.local(2027, 4, 30, 11),
        steps=(("record-permanence-plan-ratified", "permanence-tm", {}),
               ("record-joint-visit", "cwd-tm", JOINT_VISIT)),
        allocated_by=MAY.utc(2027, 5, 4, 16), allocator="cwd-tm"),
    # Summary Fri 15 Jan 2027 (no bank holiday). The meeting agrees Wed 27 Jan as the date of
    # full transfer: the case moves at 17:00 that day; allocation by Thu 28 Jan.
    Timetable(
        pathway="duty-to-permanence", anchor=XMAS.local(2027, 1, 15, 10),
        meeting_by=XMAS.utc(2027, 1, 29, 17), transfer_by=XMAS.utc(2027, 2, 12, 17),
        meeting=XMAS.day(2027, 1, 18), two_weeks=XMAS.utc(2027, 2, 1, 17),
        steps_at=XMAS.local(2027, 1, 21, 11),
        steps=(("set-transfer-date", "hos-1", {"transfer_date": XMAS.day(2027, 1, 27)}),
               ("record-age-assessment", "duty-sw", {}),
               ("record-joint-visit", "permanence-tm", JOINT_VISIT)),
        allocated_by=XMAS.utc(2027, 1, 28, 17), allocator="permanence-tm",
        agreed=XMAS.day(2027, 1, 27)),
    # Summary Thu 17 Dec 2026: 25 Dec, 28 Dec and 1 Jan skipped. Step-down at the final CiN
    # meeting Wed 23 Dec, with the family's signed consent; Early Help allocates within 3
    # working days: Thu 24, Tue 29, Wed 30 Dec.
    Timetable(
        pathway="assessment-to-early-help", anchor=XMAS.local(2026, 12, 17, 10),
        meeting_by=XMAS.utc(2027, 1, 5, 17), transfer_by=XMAS.utc(2027, 1, 14, 17),
        meeting=XMAS.day(2026, 12, 21), two_weeks=XMAS.utc(2027, 1, 4, 17),
        steps_at=XMAS.local(2026, 12, 23, 11),
        steps=(("record-final-cin-meeting", "assessment-tm",
                {"attendees": ["lead_professional", "family", "assessment_social_worker"]}),
               ("record-front-door-referral", "assessment-sw", {}),
               ("allocate-referral", "early_help-ap", {}),  # on receiving the contact
               ("record-family-consent", "assessment-sw", {"items": CONSENT})),
        allocated_by=XMAS.utc(2026, 12, 30, 17), allocator="early_help-tm"),
]
BY_PATHWAY = {t.pathway: t for t in TIMETABLES}
each_pathway = pytest.mark.parametrize("t", TIMETABLES, ids=[t.pathway for t in TIMETABLES])


async def to_transfer(ts_env: Any, s: Scenario, t: Timetable) -> TransferView:
    """From the summary to the transfer, on time, checking each planned due time."""
    view = await s.open(t.anchor) if s.handle is None else await s.view()
    assert deadline(view, "meeting_by").due_at == t.meeting_by
    assert deadline(view, "transfer_by").due_at == t.transfer_by
    meeting = datetime.combine(t.meeting, datetime.min.time(), LONDON)
    await file_qa(ts_env, s, meeting + td(hours=9, minutes=30))
    view = await meet(ts_env, s, meeting + td(hours=14))
    assert status(view, "meeting_by") is DeadlineStatus.met
    assert deadline(view, "transfer_after_meeting").due_at == t.two_weeks
    await both_agree(s, t)
    await skip_to(ts_env, t.steps_at)
    *before, (last, who, body) = t.steps
    for action, by, fields in before:
        view = await s.act(action, by, **fields)
    # The family's involvement comes before the transfer: not yet transferred without it.
    assert view.stage is not Stage.transferred and view.responsible_team == t.sending
    assert any(PROTOCOL.pathways[t.pathway].gates[gid].title in w
               for w in view.waiting_for for gid in ("joint_visit", "family_consent")
               if gid in PROTOCOL.pathways[t.pathway].gates)
    view = await s.act(last, who, **body)
    if t.agreed is not None:  # the case moves at the end of the agreed day
        assert view.stage is Stage.ready
        at_five = datetime.combine(t.agreed, datetime.min.time(), LONDON) + td(hours=17)
        await skip_to(ts_env, at_five + td(minutes=1))
        view = await settled(s, lambda v: v.stage is Stage.transferred)
        assert view.transferred_at is not None
        assert td(0) <= view.transferred_at - at_five < td(seconds=1)  # 17:00 on the day
    else:
        assert view.stage is Stage.transferred and view.transferred_at is not None
        assert view.transferred_at - t.steps_at < td(minutes=1)
    assert view.responsible_team == t.receiving
    assert deadline(view, "allocated_by").due_at == t.allocated_by
    assert {d.id: d.status for d in view.deadlines
            if d.id not in ("allocated_by", "personal_advisor_allocated")} == {
        "meeting_by": DeadlineStatus.met, "transfer_after_meeting": DeadlineStatus.met,
        "transfer_by": DeadlineStatus.met, "tasks_listed_by": DeadlineStatus.met,
        **({"transfer_date": DeadlineStatus.met} if t.agreed else {}),
        **({"referral_allocated_by": DeadlineStatus.met}
           if "referral_allocated_by" in PROTOCOL.pathways[t.pathway].deadlines else {})}
    return view


def legal_told(t: Timetable) -> dict[str, list[str]]:
    """An Interim Care Order case is in proceedings: Legal hears its QA template is filed."""
    return {"legal": [QA_FILED]} if t.pathway == "assessment-to-permanence" else {}


async def both_agree(s: Scenario, t: Timetable) -> TransferView:
    """No decision is unilateral: each Team Manager agrees the transfer (sending side first)."""
    await s.act("agree-transfer-both-sides", f"{t.sending}-tm")
    return await s.act("agree-transfer-both-sides", f"{t.receiving}-tm")


async def after_transfer_tasks(s: Scenario, t: Timetable) -> TransferView:
    """The network told (and, from CWD, the Personal Advisor allocated): then it closes."""
    if "personal_advisor_allocated" in s.pathway.after_transfer:
        await s.act("record-personal-advisor-allocated", f"{t.receiving}-tm")
    return await s.act("record-network-informed", f"{t.receiving}-sw")


# ----- the protocol file ----------------------------------------------------------------


def test_weekly_meeting_block_and_its_gate_in_every_pathway():
    meeting = PROTOCOL.weekly_meeting
    assert meeting is not None
    assert (meeting.title, meeting.weekday, f"{meeting.papers_due:%H:%M}", meeting.chair,
            meeting.agenda_gate) == ("Case Transfer Meeting", "monday", "10:00",
                                     Role.head_of_service, "case_transfer_meeting")
    assert len(PROTOCOL.pathways) >= 4
    # Contacts and referrals (issue 9's Front Door, Early Help step-up and relinquished-baby
    # routes) do not go to the meeting; every other pathway does.
    # Nor does a transfer in from another authority (its conference is the transfer point),
    # and the alerts and notices that keep the case where it is (stays: true) allocate nothing.
    referrals = {"mash-to-duty", "mash-to-early-help", "mash-to-cwd", "mash-to-assessment",
                 "mash-to-adoption", "early-help-to-duty-via-mash", "early-help-to-duty",
                 "duty-to-adoption-relinquished-baby", "other-authority-cp-transfer-in"}
    stays = {p for p, pw in PROTOCOL.pathways.items() if pw.stays}
    assert {p for p, pw in PROTOCOL.pathways.items()
            if meeting.agenda_gate not in pw.gates} == referrals | stays
    for name, pathway in PROTOCOL.pathways.items():
        if name in stays:
            assert pathway.allocation is None and "allocated_by" not in pathway.deadlines
            continue
        assert pathway.deadlines["allocated_by"].late_reason_required
        if name in referrals:
            continue
        gate = pathway.gates[meeting.agenda_gate]
        assert [str(r) for r in gate.by] == ["head_of_service@authority"]
        assert gate.after == ["qa_template"]
        assert set(gate.outcomes) == {"ready", "postponed", "qa_rejected", "disputed"}
        family = "family_consent" if pathway.receiving == "early_help" else "joint_visit"
        assert family in pathway.transfer.requires
        assert pathway.deadlines["allocated_by"].late_reason_required
    ladder = PROTOCOL.ladders["case_transfer_dispute"]
    assert [(lv.role, lv.of, str(lv.allow) if lv.allow else None) for lv in ladder.levels] == [
        (Role.team_manager, [Side.sending, Side.receiving], "2 working days"),
        (Role.head_of_service, [Side.sending, Side.receiving], "5 working days"),
        (Role.senior_assistant_director, [Side.authority], None)]


# ----- every pathway: on time, and overdue ----------------------------------------------


@each_pathway
async def test_happy_path(ts_env, worker, mailbox, t: Timetable):
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    view = await to_transfer(ts_env, s, t)
    await skip_to(ts_env, t.allocated_by - td(hours=1))
    view = await s.act("allocate", t.allocator, worker_id="W1")
    assert view.allocated_worker == "W1" and view.stage is Stage.allocated
    assert status(view, "allocated_by") is DeadlineStatus.met
    view = await after_transfer_tasks(s, t)
    assert view.stage is Stage.closed
    await expect_mail(mailbox, {
        f"{t.receiving}-tm": [STARTED, READY, AGREEMENT, transferred_to(t.receiving)],
        f"{t.sending}-tm": [READY, transferred_to(t.receiving), "worker W1 allocated"],
        **legal_told(t)})


@each_pathway
async def test_breach_path_meeting_and_four_weeks_missed(ts_env, worker, mailbox,
                                                         t: Timetable):
    """The QA template is filed but the case never reaches the meeting."""
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    meeting = datetime.combine(t.meeting, datetime.min.time(), LONDON)
    await file_qa(ts_env, s, meeting + td(hours=9, minutes=30))

    await skip_to(ts_env, t.meeting_by - td(minutes=1))
    assert status(await s.view(), "meeting_by") is DeadlineStatus.pending
    await skip_to(ts_env, t.meeting_by + td(minutes=1))
    await expect_mail(mailbox, {f"{t.sending}-tm": [MEETING_MISSED],
                                HOS[t.sending]: [MEETING_MISSED],
                                HOS[t.receiving]: [MEETING_MISSED],
                                f"{t.receiving}-tm": [STARTED], **legal_told(t)})
    view = await settled(s, lambda v: v.overdue)
    assert status(view, "meeting_by") is DeadlineStatus.missed

    await skip_to(ts_env, t.transfer_by - td(minutes=1))
    assert status(await s.view(), "transfer_by") is DeadlineStatus.pending
    await skip_to(ts_env, t.transfer_by + td(minutes=1))
    await expect_mail(mailbox, {
        f"{t.sending}-tm": [MEETING_MISSED, FOUR_WEEKS_MISSED],
        f"{t.receiving}-tm": [STARTED, FOUR_WEEKS_MISSED],
        HOS[t.sending]: [MEETING_MISSED, FOUR_WEEKS_MISSED],
        HOS[t.receiving]: [MEETING_MISSED, FOUR_WEEKS_MISSED], **legal_told(t)})
    view = await settled(s, lambda v: status(v, "transfer_by") is DeadlineStatus.missed)
    assert (view.stage, view.responsible_team) == (Stage.proposed, t.sending)


async def test_not_transferred_within_two_weeks_of_the_meeting(ts_env, worker, mailbox):
    """Met Mon 14 Dec 2026: two calendar weeks end on Mon 28 Dec, Boxing Day's substitute."""
    t = BY_PATHWAY["duty-to-assessment"]
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    await file_qa(ts_env, s, XMAS.local(2026, 12, 14, 9, 30))
    await meet(ts_env, s, XMAS.local(2026, 12, 14, 14))
    await both_agree(s, t)
    await skip_to(ts_env, XMAS.utc(2026, 12, 28, 16, 59))
    assert status(await s.view(), "transfer_after_meeting") is DeadlineStatus.pending
    await skip_to(ts_env, XMAS.utc(2026, 12, 28, 17, 1))
    await expect_mail(mailbox, {"duty-tm": [READY, TWO_WEEKS_MISSED],
                                "assessment-tm": [STARTED, READY, AGREEMENT,
                                                  TWO_WEEKS_MISSED]})
    await skip_to(ts_env, XMAS.local(2026, 12, 29, 10))
    for action, who, body in t.steps:
        view = await s.act(action, who, **body)
    assert view.stage is Stage.transferred
    assert {d.id: d.status for d in view.deadlines if d.id != "allocated_by"} == {
        "meeting_by": DeadlineStatus.met, "transfer_after_meeting": DeadlineStatus.met_late,
        "transfer_by": DeadlineStatus.met, "tasks_listed_by": DeadlineStatus.met}
    assert deadline(view, "allocated_by").due_at == XMAS.utc(2026, 12, 30, 17)


# ----- the Case Transfer Meeting's other outcomes ---------------------------------------


async def test_qa_rejected_then_resubmitted_then_ready(ts_env, worker, mailbox):
    t = BY_PATHWAY["assessment-to-early-help"]
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    await file_qa(ts_env, s, XMAS.local(2026, 12, 21, 9, 30))
    kind, _ = await s.refused("file-qa-template", "assessment-tm", items=QA_ITEMS)
    assert kind == "WrongStage"  # already filed
    await skip_to(ts_env, XMAS.local(2026, 12, 21, 14))
    kind, message = await s.refused("reject-qa-template", "hos-2")
    assert kind == "InvalidInput" and "Say why" in message
    kind, _ = await s.refused("reject-qa-template", "early_help-tm")
    assert kind == "NotPermitted"  # the chair (a Head of Service) decides
    view = await s.act("reject-qa-template", "hos-2", note="Chronology not updated")
    qa = next(g for g in view.gates if g.id == "qa_template")
    assert not qa.done and view.stage is Stage.proposed
    assert view.responsible_team == "assessment"
    await expect_mail(mailbox, {"assessment-tm": [QA_REJECTED], "early_help-tm": [STARTED]})
    kind, message = await s.refused("agree-transfer", "hos-1", **MEETING)
    assert kind == "WrongStage" and "only after" in message

    await skip_to(ts_env, XMAS.local(2026, 12, 22, 9))
    kind, message = await s.refused("file-qa-template", "assessment-tm", items=QA_ITEMS[:-1])
    assert kind == "InvalidInput" and "current_care_plan_on_file" in message
    await s.act("file-qa-template", "assessment-tm", items=QA_ITEMS)
    # Re-presented at the next meeting, Mon 4 Jan 2027 (still within 10 working days).
    view = await meet(ts_env, s, XMAS.local(2027, 1, 4, 14))
    assert status(view, "meeting_by") is DeadlineStatus.met
    assert deadline(view, "transfer_after_meeting").due_at == XMAS.utc(2027, 1, 18, 17)
    await expect_mail(mailbox, {"assessment-tm": [QA_REJECTED, READY],
                                "early_help-tm": [STARTED, READY]})


async def test_postponed_with_a_re_presentation_date_that_is_missed(ts_env, worker, mailbox):
    t = BY_PATHWAY["cwd-to-permanence"]
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    await file_qa(ts_env, s, MAY.local(2027, 4, 26, 9, 30))
    await skip_to(ts_env, MAY.local(2027, 4, 26, 14))
    note = "Remedial actions: update genogram and care plan"
    kind, message = await s.refused("postpone-transfer", "hos-1", note=note)
    assert kind == "InvalidInput" and "needs a 'date'" in message
    kind, message = await s.refused("postpone-transfer", "hos-1", note=note,
                                    date=MAY.day(2027, 5, 3))
    assert kind == "InvalidInput" and "not a working day" in message  # May Day
    kind, message = await s.refused("postpone-transfer", "hos-1", date=MAY.day(2027, 5, 4))
    assert kind == "InvalidInput" and "Say why" in message
    view = await s.act("postpone-transfer", "hos-1", note=note, date=MAY.day(2027, 5, 4))
    follow_up = deadline(view, "case_transfer_meeting:postponed")
    assert follow_up.due_at == MAY.utc(2027, 5, 4, 16)  # Tue 4 May 17:00 BST
    assert not next(g for g in view.gates if g.id == "qa_template").done
    await expect_mail(mailbox, {"cwd-tm": [POSTPONED], "permanence-tm": [STARTED, POSTPONED]})

    await skip_to(ts_env, MAY.utc(2027, 5, 4, 15, 59))
    assert status(await s.view(), "case_transfer_meeting:postponed") is DeadlineStatus.pending
    await skip_to(ts_env, MAY.utc(2027, 5, 4, 16, 1))
    # Those who record the meeting (every Head of Service: the chair rotates) and both
    # Team Managers.
    await expect_mail(mailbox, {"cwd-tm": [POSTPONED, REPRESENT_MISSED],
                                "permanence-tm": [STARTED, POSTPONED, REPRESENT_MISSED],
                                "hos-1": [REPRESENT_MISSED], "hos-2": [REPRESENT_MISSED],
                                **{hos: [REPRESENT_MISSED] for hos in HOS.values()}})

    # Re-presented with the remedial actions done at the next meeting, Mon 10 May.
    await file_qa(ts_env, s, MAY.local(2027, 5, 10, 9, 30))
    view = await meet(ts_env, s, MAY.local(2027, 5, 10, 14), chair="hos-2")
    assert status(view, "case_transfer_meeting:postponed") is DeadlineStatus.met_late
    assert status(view, "meeting_by") is DeadlineStatus.met  # due Mon 10 May 17:00 BST
    assert deadline(view, "transfer_after_meeting").due_at == MAY.utc(2027, 5, 24, 16)


# ----- the dispute ladder: Team Managers, the relevant Heads of Service, then the SAD -----


async def disputed_at_the_meeting(ts_env: Any, worker: Any) -> tuple[Scenario, TransferView]:
    t = BY_PATHWAY["assessment-to-permanence"]
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    await file_qa(ts_env, s, EASTER.local(2027, 3, 22, 9, 30))
    await skip_to(ts_env, EASTER.local(2027, 3, 22, 14))
    kind, _ = await s.refused("record-dispute", "permanence-tm", note="x")
    assert kind == "NotPermitted"
    kind, message = await s.refused("record-dispute", "hos-1")
    assert kind == "InvalidInput" and "Say why" in message
    view = await s.act("record-dispute", "hos-1", note="Teams disagree on the pathway")
    return s, view


async def test_dispute_goes_to_team_managers_heads_of_service_then_sad_to_the_minute(
        ts_env, worker, mailbox):
    s, view = await disputed_at_the_meeting(ts_env, worker)
    assert (view.stage, view.escalation_level, view.responsible_team) == (
        Stage.disputed, 1, "assessment")
    assert view.dispute is not None
    # Mon 22 Mar + 2 working days: Wed 24 Mar 17:00 GMT.
    tm_due = EASTER.utc(2027, 3, 24, 17)
    assert view.dispute.level_due_at == tm_due
    await expect_mail(mailbox, {"assessment-tm": [REFERRED],
                                "permanence-tm": [STARTED, REFERRED], "legal": [QA_FILED]})
    await s.act("acknowledge-dispute", "permanence-tm")  # the clock runs on

    await skip_to(ts_env, tm_due + td(minutes=1))
    view = await settled(s, lambda v: v.escalation_level == 2)
    # The relevant Heads of Service: then 5 working days, skipping Good Friday and Easter
    # Monday: Fri 2 Apr 17:00 BST.
    due = EASTER.utc(2027, 4, 2, 16)
    assert view.dispute is not None and view.dispute.level_due_at == due
    escalated = {HOS["assessment"]: [ESCALATED], HOS["permanence"]: [ESCALATED]}
    await expect_mail(mailbox, {"assessment-tm": [REFERRED],
                                "permanence-tm": [STARTED, REFERRED], **escalated,
                                "legal": [QA_FILED]})
    kind, _ = await s.refused("resolve-dispute", "assessment-tm", resolution="proceed",
                              note="x")
    assert kind == "NotPermitted"  # past the Team Managers' level now

    await skip_to(ts_env, due - td(minutes=1))
    assert inbox(mailbox, "sad") == []
    await skip_to(ts_env, due + td(minutes=1))
    await expect_mail(mailbox, {"assessment-tm": [REFERRED],
                                "permanence-tm": [STARTED, REFERRED], **escalated,
                                "sad": [SAD_TOLD], "legal": [QA_FILED]})
    view = await settled(s, lambda v: v.escalation_level == 3)
    assert (view.stage, view.responsible_team) == (Stage.disputed, "assessment")
    assert view.dispute is not None and view.dispute.level_due_at is None

    kind, _ = await s.refused("resolve-dispute", HOS["assessment"], resolution="proceed",
                              note="x")
    assert kind == "NotPermitted"  # the Heads of Service's five days have passed
    await skip_to(ts_env, EASTER.local(2027, 4, 5, 10))
    view = await s.act("resolve-dispute", "sad", resolution="proceed",
                       note="Permanence is the right pathway")
    assert view.dispute is None and view.stage is Stage.proposed
    assert next(g for g in view.gates if g.id == "case_transfer_meeting").done
    # Agreed Mon 5 Apr: two weeks later, Mon 19 Apr 17:00 BST.
    assert deadline(view, "transfer_after_meeting").due_at == EASTER.utc(2027, 4, 19, 16)
    resolved = "dispute resolved: proceed"
    await expect_mail(mailbox, {"assessment-tm": [REFERRED, resolved],
                                "permanence-tm": [STARTED, REFERRED, resolved], **escalated,
                                "sad": [SAD_TOLD], "legal": [QA_FILED]})


async def test_the_relevant_heads_of_service_determine_another_pathway(ts_env, worker,
                                                                       mailbox):
    s, view = await disputed_at_the_meeting(ts_env, worker)
    assert view.dispute is not None
    await skip_to(ts_env, EASTER.local(2027, 3, 25, 10))  # escalated on Wed 24 Mar 17:00
    kind, _ = await s.refused("resolve-dispute", "hos-2", resolution="redirect",
                              to_team="early_help", note="x")
    assert kind == "NotPermitted"  # not a Head of Service of either team
    view = await s.act("resolve-dispute", HOS["assessment"], resolution="redirect",
                       to_team="early_help",
                       note="Level 2/3 needs: step down to Early Help instead")
    assert (view.stage, view.redirected_to, view.responsible_team) == (
        Stage.redirected, "early_help", "assessment")
    resolved = "dispute resolved: redirect"
    await expect_mail(mailbox, {"assessment-tm": [REFERRED, resolved],
                                "permanence-tm": [STARTED, REFERRED, resolved],
                                HOS["assessment"]: [ESCALATED], HOS["permanence"]: [ESCALATED],
                                "early_help-tm": [resolved], "legal": [QA_FILED]})


# ----- allocation within 1 (Early Help: 3) working days; late needs the reason ----------


@pytest.mark.parametrize("pathway", ["duty-to-assessment", "assessment-to-early-help"])
async def test_late_allocation_refused_without_a_reason(ts_env, worker, mailbox, pathway):
    t = BY_PATHWAY[pathway]
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    await to_transfer(ts_env, s, t)
    await skip_to(ts_env, t.allocated_by - td(minutes=1))
    assert status(await s.view(), "allocated_by") is DeadlineStatus.pending
    await skip_to(ts_env, t.allocated_by + td(minutes=1))
    title = PROTOCOL.pathways[pathway].deadlines["allocated_by"].title
    await expect_mail(mailbox, {
        f"{t.receiving}-tm": [STARTED, READY, AGREEMENT, transferred_to(t.receiving),
                              f"deadline missed: {title}"],
        f"{t.sending}-tm": [READY, transferred_to(t.receiving)]})
    await settled(s, lambda v: status(v, "allocated_by") is DeadlineStatus.missed)

    await skip_to(ts_env, t.allocated_by + td(hours=16))
    kind, message = await s.refused("allocate", t.allocator, worker_id="W2")
    assert kind == "InvalidInput" and "give the reason for the delay" in message
    view = await s.act("allocate", t.allocator, worker_id="W2",
                       note="Team at capacity; agreed with the Head of Service")
    assert view.allocated_worker == "W2" and view.stage is Stage.allocated
    view = await after_transfer_tasks(s, t)
    assert view.stage is Stage.closed
    assert status(view, "allocated_by") is DeadlineStatus.met_late


# ----- what the engine cannot yet express -----------------------------------------------


async def test_postponed_case_was_considered_within_ten_working_days(ts_env, worker):
    t = BY_PATHWAY["duty-to-assessment"]
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    await file_qa(ts_env, s, XMAS.local(2026, 12, 14, 9, 30))
    view = await meet(ts_env, s, XMAS.local(2026, 12, 14, 14), "postpone-transfer",
                      note="Remedial actions agreed", date=XMAS.day(2027, 1, 4))
    assert status(view, "meeting_by") is DeadlineStatus.met


async def test_agreed_date_defaults_to_two_weeks_after_the_meeting(ts_env, worker):
    t = BY_PATHWAY["duty-to-permanence"]
    s = await opened(ts_env, worker, t.pathway, t.anchor)
    assert s.pathway.transfer.agreed_date is not None
    assert s.pathway.transfer.agreed_date.default == "transfer_after_meeting"
    view = await s.view()
    assert view.transfer_date is None  # no date until the meeting has agreed the transfer
    await file_qa(ts_env, s, XMAS.local(2027, 1, 18, 9, 30))
    view = await meet(ts_env, s, XMAS.local(2027, 1, 18, 14))
    assert view.transfer_date == t.two_weeks


def inbox(mailbox: Any, who: str) -> list[str]:
    return _inbox(mailbox, SH, who)
