"""Seed 004 (the Family Safeguarding authority) on the time-skipping server.

Step down / up with a joint handover meeting within 10 working days; A&I -> FSP for child
protection (the initial core group within 10 working days of the ICPC), child in need
(before involvement passes 6 months), PLO and proceedings (at the CMH, or earlier after the
Team Managers' meeting); FSP -> CLA within 10 working days of the final orders or before
month 6 of section 20 care; CLA -> 16+ from 15 years 6 months; siblings moving together;
the non-negotiable checklist that never delays a transfer; Team Managers -> Service Manager.

Due times are hand-computed literals (England & Wales bank holidays: Christmas 2026 with
Boxing Day's substitute Mon 28 Dec, New Year's Day 2027, Good Friday 26 and Easter Monday
29 Mar 2027, May Day 3 May 2027; British Summer Time from Sun 28 Mar 2027), each in a scene
(tests.dates.Scene) that runs at the first stretch of calendar after today that is the same.
Timers are crossed by moving the server's clock, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import timedelta as td
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.protocol import Role, Side
from models.transfer import DeadlineStatus, Stage, TransferView
from tests import scenario
from tests.dates import Scene
from tests.scenario import PROTOCOLS, Scenario, deadline, mail, settled, status
from tests.scenario import inbox as _inbox
from tests.transfers import eventually, skip_to

A = "family_safeguarding"
PROTOCOL = PROTOCOLS[A]
LONDON = ZoneInfo("Europe/London")
CHECKLIST = list(PROTOCOL.pathways["a-and-i-to-early-help"].gates["checklist"].items)

# Email headlines (the subject is "[family_safeguarding] Case C1: <headline>").
STARTED = "transfer proposed to your team"
ACCEPTED = "Receiving Team Manager's review: accepted"
ALLOCATED = "worker W1 allocated"
CMH_MEETING = "Team Managers could not agree at the meeting before the CMH"

Step = tuple[str, str, dict[str, Any]]


def moved(team: str) -> str:
    return f"case transferred to {team}"


# The scenes: each from its first anchor to the last time a test moves the clock to.
XMAS = Scene("Christmas 2026", ((date(2026, 12, 7), date(2027, 2, 16)),),
             holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)))
EASTER = Scene("Easter 2027", ((date(2027, 3, 22), date(2027, 4, 14)),),
               holidays=(date(2027, 3, 26), date(2027, 3, 29)),
               clock_changes=(date(2027, 3, 28),))
MAY = Scene("May Day 2027", ((date(2027, 4, 29), date(2027, 5, 17)),), holidays=(date(2027, 5, 3),))
# Clocks of calendar months: moved by whole years only (the same day of the month), and only
# the days the tests use are the same calendar (what lies between is not counted).
CHILD_IN_NEED = Scene("6 months from Mon 1 Feb 2027",
                      ((date(2027, 2, 1), date(2027, 2, 2)), (date(2027, 7, 27), date(2027, 8, 3))),
                      whole_years=True)
SECTION_20 = Scene("6 months from Thu 14 Jan 2027",
                   ((date(2027, 1, 14), date(2027, 1, 15)), (date(2027, 6, 29), date(2027, 7, 16))),
                   whole_years=True)


def five_pm(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), LONDON) + td(hours=17)


# ----- helpers -------------------------------------------------------------------------


async def expect_mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await scenario.expect_mail(mailbox, A, expected)


def at_stage(stage: Stage) -> Callable[[TransferView], bool]:
    return lambda view: view.stage is stage


def missed(name: str) -> Callable[[TransferView], bool]:
    return lambda view: status(view, name) is DeadlineStatus.missed


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime, *,
                 agreed: date | None = None, children: list[str] | None = None) -> Scenario:
    s = Scenario(ts_env.client, worker, A, pathway)
    await skip_to(ts_env, anchor)
    await s.open(anchor, agreed=agreed, children=children)
    return s


async def take(s: Scenario, steps: list[Step] | tuple[Step, ...]) -> TransferView:
    view = await s.view()
    for action, who, body in steps:
        view = await s.act(action, who, **body)
    return view


def ends(pathway: str) -> tuple[str, str]:
    p = PROTOCOL.pathways[pathway]
    return p.sending, p.receiving


# ----- the protocol file ----------------------------------------------------------------


def test_checklist_never_delays_and_disagreements_go_to_service_managers():
    assert len(CHECKLIST) == 30
    for pathway in PROTOCOL.pathways.values():
        assert "checklist" not in pathway.transfer.requires
        assert pathway.outcomes("checklist")["outstanding"].needs_date
        assert list(pathway.gates["checklist"].items) == CHECKLIST
    assert [(lv.role, str(lv.allow) if lv.allow else None)
            for lv in PROTOCOL.ladders["disagreement"].levels] == [
        (Role.team_manager, "2 working days"), (Role.service_manager, None)]
    assert [(lv.role, lv.of, str(lv.allow) if lv.allow else None)
            for lv in PROTOCOL.ladders["cmh_meeting"].levels] == [
        (Role.service_manager, [Side.sending, Side.receiving], "5 days")]
    months = {name: str(PROTOCOL.pathways[name].deadlines["transfer_by"].within)
              for name in ("a-and-i-to-fsp-child-in-need", "fsp-to-cla-section-20",
                           "cla-to-sixteen-plus")}  # the last from the day they turn 15 1/2
    assert set(months.values()) == {"6 months"}


# ----- handover meetings: step down / up, and the initial core group ----------------------

JOINT = {"attendees": ["family", "child", "sending_social_worker", "receiving_worker"]}


@dataclass(frozen=True)
class Handover:
    pathway: str
    deadline: str
    anchor: datetime
    due: datetime          # 10 working days after the anchor, 17:00 London
    before: tuple[Step, ...]
    handover: Step         # the handover point: the case moves here


HANDOVERS = [
    # Step down agreed Thu 17 Dec 2026: 25, 28 Dec and 1 Jan skipped: Tue 5 Jan 17:00 GMT.
    Handover("a-and-i-to-early-help", "joint_meeting_by", XMAS.local(2026, 12, 17, 10),
             XMAS.utc(2027, 1, 5, 17),
             (("record-family-consent", "a_and_i-sw", {}), ("accept", "early_help-tm", {})),
             ("record-joint-meeting", "early_help-sw", JOINT)),
    # Mon 22 Mar 2027: Good Friday and Easter Monday skipped: Wed 7 Apr 17:00 BST.
    Handover("fsp-to-early-help", "joint_meeting_by", EASTER.local(2027, 3, 22, 10),
             EASTER.utc(2027, 4, 7, 16),
             (("accept", "early_help-tm", {}), ("record-family-consent", "fsp-tm", {})),
             ("record-joint-meeting", "fsp-sw", JOINT)),
    # Step up confirmed Thu 29 Apr 2027: May Day skipped: Fri 14 May 17:00 BST.
    Handover("early-help-to-a-and-i", "joint_meeting_by", MAY.local(2027, 4, 29, 10),
             MAY.utc(2027, 5, 14, 16),
             (("record-family-informed", "early_help-sw", {}), ("accept", "a_and_i-tm", {})),
             ("record-joint-meeting", "a_and_i-tm", JOINT)),
    # ICPC Wed 16 Dec 2026: 25, 28 Dec and 1 Jan skipped: Mon 4 Jan 17:00 GMT.
    Handover("a-and-i-to-fsp-child-protection", "transfer_by", XMAS.local(2026, 12, 16, 14),
             XMAS.utc(2027, 1, 4, 17), (("accept", "fsp-tm", {}),),
             ("record-initial-core-group", "a_and_i-sw",
              {"attendees": ["family", "a_and_i_social_worker", "fsp_social_worker"]})),
]
each_handover = pytest.mark.parametrize("h", HANDOVERS, ids=[h.pathway for h in HANDOVERS])


@each_handover
async def test_handover_within_10_working_days(ts_env, worker, mailbox, h: Handover):
    sending, receiving = ends(h.pathway)
    s = await opened(ts_env, worker, h.pathway, h.anchor)
    assert deadline(await s.view(), h.deadline).due_at == h.due
    await skip_to(ts_env, h.anchor + td(days=1))
    view = await take(s, h.before)
    assert (view.stage, view.responsible_team) == (Stage.proposed, sending)
    await skip_to(ts_env, h.due - td(hours=3))
    view = await s.act(*h.handover[:2], **h.handover[2])
    assert (view.stage, view.responsible_team) == (Stage.transferred, receiving)
    assert status(view, h.deadline) is DeadlineStatus.met
    await s.act("allocate", f"{receiving}-tm", worker_id="W1")
    await expect_mail(mailbox, {f"{receiving}-tm": [STARTED, moved(receiving)],
                                f"{sending}-tm": [ACCEPTED, moved(receiving), ALLOCATED]})


@each_handover
async def test_handover_overdue(ts_env, worker, mailbox, h: Handover):
    sending, receiving = ends(h.pathway)
    s = await opened(ts_env, worker, h.pathway, h.anchor)
    await take(s, h.before)
    await skip_to(ts_env, h.due - td(minutes=1))
    assert status(await s.view(), h.deadline) is DeadlineStatus.pending
    await skip_to(ts_env, h.due + td(minutes=1))
    late = f"deadline missed: {PROTOCOL.pathways[h.pathway].deadlines[h.deadline].title}"
    expected = {f"{receiving}-tm": [STARTED, late], f"{sending}-tm": [ACCEPTED, late]}
    await expect_mail(mailbox, expected)
    view = await settled(s, missed(h.deadline))
    assert (view.stage, view.responsible_team) == (Stage.proposed, sending)
    await skip_to(ts_env, h.due + td(days=2))
    view = await s.act(*h.handover[:2], **h.handover[2])
    assert (view.stage, view.responsible_team) == (Stage.transferred, receiving)
    assert status(view, h.deadline) is DeadlineStatus.met_late
    for tm in expected:
        expected[tm].append(moved(receiving))
    await expect_mail(mailbox, expected)


async def test_siblings_move_together(ts_env, worker, mailbox):
    h = HANDOVERS[0]
    s = await opened(ts_env, worker, h.pathway, h.anchor, children=["C1", "C2", "C3"])
    await take(s, h.before)
    view = await s.act(*h.handover[:2], **h.handover[2])
    assert (view.stage, view.responsible_team, view.children) == (
        Stage.transferred, "early_help", ["C1", "C2", "C3"])
    await expect_mail(mailbox, {"early_help-tm": [STARTED, moved("early_help")],
                                "a_and_i-tm": [ACCEPTED, moved("early_help")]})
    body = next(m for m in mailbox.to(mail(A, "early_help-tm"))
                if "transferred" in str(m["Subject"])).get_payload(decode=True).decode()
    assert "children: C1, C2, C3" in body


# ----- the case moves on the agreed date ---------------------------------------------------


@dataclass(frozen=True)
class Dated:
    pathway: str
    anchor: datetime
    due: datetime                 # the transfer_by deadline
    steps: tuple[Step, ...]       # what the transfer requires, and any other records
    transfer_on: date             # the agreed date (or the default: the deadline's day)
    set_date: bool = True         # agreed with set-transfer-date (else the default)
    agreed_at_start: date | None = None
    late: tuple[Step, ...] = field(default=())  # the breach path: the requirements, late
    default_date: datetime | None = None  # when the deadline's day is closed: the day before


DATED = [
    # Involvement started Mon 1 Feb 2027: 6 months on is Sun 1 Aug, 17:00 BST; the default
    # transfer date is the last working day before it, Fri 30 Jul.
    Dated("a-and-i-to-fsp-child-in-need", CHILD_IN_NEED.local(2027, 2, 1, 10),
          CHILD_IN_NEED.utc(2027, 8, 1, 16), (("accept", "fsp-tm", {}),),
          CHILD_IN_NEED.day(2027, 7, 28), late=(("accept", "fsp-tm", {}),),
          default_date=CHILD_IN_NEED.utc(2027, 7, 30, 16)),
    # Entered care Thu 14 Jan 2027: Wed 14 Jul, 17:00 BST.
    Dated("fsp-to-cla-section-20", SECTION_20.local(2027, 1, 14, 10),
          SECTION_20.utc(2027, 7, 14, 16), (("accept", "cla-tm", {}),),
          SECTION_20.day(2027, 6, 30),
          late=(("accept", "cla-tm", {}),)),
    # (fsp-to-cla-final-order's clock now runs from the orders' date, cla-to-sixteen-plus's
    # from the day the young person turns 15 1/2, and a-and-i-to-fsp-proceedings-at-cmh moves
    # at the CMH: tests/test_family_safeguarding_seed_rules.py.)
]
each_dated = pytest.mark.parametrize("d", DATED, ids=[d.pathway for d in DATED])


@each_dated
async def test_moves_on_the_agreed_date(ts_env, worker, mailbox, d: Dated):
    sending, receiving = ends(d.pathway)
    s = await opened(ts_env, worker, d.pathway, d.anchor, agreed=d.agreed_at_start)
    view = await s.view()
    assert deadline(view, "transfer_by").due_at == d.due
    await skip_to(ts_env, d.anchor + td(days=1))
    view = await take(s, d.steps)
    if d.set_date:
        # By default the deadline, or the last working day before it if it is a closed day.
        assert view.transfer_date == (d.default_date or d.due)
        view = await s.act("set-transfer-date", f"{receiving}-tm", transfer_date=d.transfer_on)
    assert view.transfer_date == five_pm(d.transfer_on)
    await skip_to(ts_env, five_pm(d.transfer_on) - td(minutes=1))
    view = await s.view()
    assert view.stage in (Stage.proposed, Stage.ready) and view.responsible_team == sending
    await skip_to(ts_env, five_pm(d.transfer_on) + td(minutes=1))
    view = await settled(s, at_stage(Stage.transferred))
    assert view.responsible_team == receiving
    assert view.transferred_at is not None
    assert td(0) <= view.transferred_at - five_pm(d.transfer_on) < td(seconds=1)
    assert status(view, "transfer_by") is DeadlineStatus.met
    await s.act("allocate", f"{receiving}-tm", worker_id="W1")
    accepted = [ACCEPTED] if any(a == "accept" for a, _, _ in d.steps) else []
    await expect_mail(mailbox, {f"{receiving}-tm": [STARTED, moved(receiving)],
                                f"{sending}-tm": [*accepted, moved(receiving), ALLOCATED]})


@each_dated
async def test_not_transferred_by_the_deadline(ts_env, worker, mailbox, d: Dated):
    sending, receiving = ends(d.pathway)
    s = await opened(ts_env, worker, d.pathway, d.anchor, agreed=d.agreed_at_start)
    expected = {f"{receiving}-tm": [STARTED]}
    await skip_to(ts_env, d.due - td(minutes=1))
    view = await s.view()
    assert status(view, "transfer_by") is DeadlineStatus.pending
    assert view.responsible_team == sending  # the default date has passed
    await skip_to(ts_env, d.due + td(minutes=1))
    late = f"deadline missed: {PROTOCOL.pathways[d.pathway].deadlines['transfer_by'].title}"
    expected[f"{receiving}-tm"].append(late)
    expected.setdefault(f"{sending}-tm", []).append(late)
    await expect_mail(mailbox, expected)
    view = await settled(s, missed("transfer_by"))
    assert view.responsible_team == sending
    # Later the requirements are met: the case moves at once.
    await skip_to(ts_env, d.due + td(days=2))
    view = await take(s, d.late)
    expected[f"{sending}-tm"].append(ACCEPTED)
    assert (view.stage, view.responsible_team) == (Stage.transferred, receiving)
    assert status(view, "transfer_by") is DeadlineStatus.met_late
    for tm in (f"{sending}-tm", f"{receiving}-tm"):
        expected[tm].append(moved(receiving))
    await expect_mail(mailbox, expected)


# ----- proceedings: the CMH more than 3 weeks away -----------------------------------------

BEFORE_CMH = "a-and-i-to-fsp-proceedings-before-cmh"
TM_MEETING: dict[str, Any] = {"attendees": ["a_and_i_team_manager", "fsp_team_manager"]}


# (The managers' joint agreement: tests/test_family_safeguarding_seed_rules.py.)


async def test_managers_disagree_service_manager_resolves(ts_env, worker, mailbox):
    s = await opened(ts_env, worker, BEFORE_CMH, XMAS.local(2027, 1, 11, 10))
    await skip_to(ts_env, XMAS.local(2027, 1, 18, 10))
    view = await s.act("disagree-at-tm-meeting", "a_and_i-tm", note="Outstanding statements",
                       **TM_MEETING)
    assert (view.stage, view.responsible_team) == (Stage.disputed, "a_and_i")
    # Straight to the Service Managers; 5 calendar days: Sat 23 Jan 17:00 GMT.
    assert view.dispute is not None and view.dispute.level_due_at == XMAS.utc(2027, 1, 23, 17)
    referred = f"dispute referred to you: {CMH_MEETING}"
    expected = {"fsp-tm": [STARTED], "a_and_i-sm": [referred], "fsp-sm": [referred]}
    await expect_mail(mailbox, expected)
    await skip_to(ts_env, XMAS.utc(2027, 1, 23, 16, 59))
    assert (await s.view()).escalation_level == 1
    await skip_to(ts_env, XMAS.utc(2027, 1, 23, 17, 1))
    told = f"dispute not resolved within 5 days: {CMH_MEETING}"
    for sm in ("a_and_i-sm", "fsp-sm"):
        expected[sm].append(told)
    await expect_mail(mailbox, expected)
    await skip_to(ts_env, XMAS.local(2027, 1, 25, 10))
    kind, _ = await s.refused("resolve-dispute", "fsp-tm", resolution="proceed", note="x")
    assert kind == "NotPermitted"
    view = await s.act("resolve-dispute", "a_and_i-sm", resolution="proceed",
                       note="Statements to follow; FSP take the case now")
    assert (view.stage, view.responsible_team, view.dispute) == (Stage.transferred, "fsp", None)
    expected["fsp-tm"] += ["dispute resolved: proceed", moved("fsp")]
    expected["a_and_i-tm"] = ["dispute resolved: proceed", moved("fsp")]
    await expect_mail(mailbox, expected)


async def test_managers_meet_at_least_5_days_before_the_cmh(ts_env, worker, mailbox):
    # ICO Mon 11 Jan 2027, CMH Mon 15 Feb: the meeting is due by Wed 10 Feb 17:00 GMT.
    s = await opened(ts_env, worker, BEFORE_CMH, XMAS.local(2027, 1, 11, 10))
    view = await s.act("record-cmh-date", "a_and_i-tm", date=XMAS.day(2027, 2, 15))
    assert deadline(view, "cmh_listed:listed").due_at == XMAS.utc(2027, 2, 10, 17)
    await skip_to(ts_env, XMAS.utc(2027, 2, 10, 16, 59))
    assert deadline(await s.view(), "cmh_listed:listed").status is DeadlineStatus.pending
    await skip_to(ts_env, XMAS.utc(2027, 2, 10, 17, 1))
    missed = "date missed: Team Managers meet at least 5 days before the CMH"
    await eventually(lambda: mailbox.subjects(mail(A, "a_and_i-tm")),
                     lambda got: any(missed in x for x in got))
    await s.act("agree-at-tm-meeting", "a_and_i-tm", **TM_MEETING)  # both must agree
    view = await s.act("agree-at-tm-meeting", "fsp-tm", **TM_MEETING)
    assert deadline(view, "cmh_listed:listed").status is DeadlineStatus.met_late
    assert view.stage is Stage.transferred


# ----- transfer points without a timescale ------------------------------------------------

POINTS: list[tuple[str, tuple[Step, ...]]] = [
    ("a-and-i-to-fsp-plo",
     (("accept", "fsp-tm", {}),
      ("record-plo-review", "a_and_i-sw",
       {"attendees": ["family", "a_and_i_social_worker", "fsp_social_worker", "legal"]}))),
    ("a-and-i-to-sixteen-plus", (("accept", "sixteen_plus-tm", {}),)),
    ("fsp-to-sixteen-plus", (("accept", "sixteen_plus-tm", {}),)),
    ("a-and-i-to-cwd",
     (("accept", "cwd-tm", {}),
      ("record-transfer-meeting", "cwd-tm",
       {"attendees": ["sending_team_manager", "cwd_team_manager"]}))),
    ("fsp-to-cwd",
     (("accept", "cwd-tm", {}),
      ("record-transfer-meeting", "fsp-tm",
       {"attendees": ["sending_team_manager", "cwd_team_manager"]}))),
]
each_point = pytest.mark.parametrize(("pathway", "steps"), POINTS, ids=[p for p, _ in POINTS])


@each_point
async def test_transfers_at_its_point(ts_env, worker, mailbox, pathway: str,
                                      steps: tuple[Step, ...]):
    sending, receiving = ends(pathway)
    s = await opened(ts_env, worker, pathway, XMAS.local(2027, 2, 1, 10))
    await skip_to(ts_env, XMAS.local(2027, 2, 2, 10))
    *before, (action, who, body) = steps
    view = await take(s, before)
    assert (view.stage, view.responsible_team) == (Stage.proposed, sending)
    view = await s.act(action, who, **body)
    assert (view.stage, view.responsible_team) == (Stage.transferred, receiving)
    await s.act("allocate", f"{receiving}-tm", worker_id="W1")
    await expect_mail(mailbox, {f"{receiving}-tm": [STARTED, moved(receiving)],
                                f"{sending}-tm": [ACCEPTED, moved(receiving), ALLOCATED]})


@each_point
async def test_until_its_point_the_sending_team_stays_responsible(
        ts_env, worker, mailbox, pathway: str, steps: tuple[Step, ...]):
    """No timescale in the seed, none invented: a year on, nothing moved and nobody chased."""
    sending, receiving = ends(pathway)
    s = await opened(ts_env, worker, pathway, XMAS.local(2027, 2, 1, 10))
    await take(s, steps[:-1])  # everything but the transfer point
    await skip_to(ts_env, XMAS.local(2027, 2, 1, 10) + td(weeks=52))
    view = await s.view()
    assert (view.stage, view.responsible_team) == (Stage.proposed, sending)
    assert view.deadlines == [] and not view.overdue
    accepted = [ACCEPTED] if any(a == "accept" for a, _, _ in steps[:-1]) else []
    await expect_mail(mailbox, {f"{receiving}-tm": [STARTED], f"{sending}-tm": accepted})


# ----- the non-negotiable checklist never delays the transfer --------------------------------

OUTSTANDING = "Outstanding transfer tasks completed by the agreed date"


async def test_transfer_proceeds_on_the_agreed_date_with_tasks_outstanding(
        ts_env, worker, mailbox):
    s = await opened(ts_env, worker, "fsp-to-cla-final-order", EASTER.local(2027, 3, 25, 15))
    kind, message = await s.refused("agree-outstanding-items", "fsp-tm", note="PEP",
                                    date=EASTER.day(2027, 3, 29))
    assert kind == "InvalidInput" and "not a working day" in message  # Easter Monday
    await skip_to(ts_env, EASTER.local(2027, 3, 30, 10))
    kind, message = await s.refused("complete-checklist", "fsp-tm", items=CHECKLIST[:-1])
    assert kind == "InvalidInput" and "handover_supervision_held" in message
    view = await s.act("agree-outstanding-items", "fsp-tm", date=EASTER.day(2027, 4, 14),
                       note="PEP and health assessment to be recorded")
    assert deadline(view, "checklist:outstanding").due_at == EASTER.utc(2027, 4, 14, 16)
    await s.act("name-cla-worker", "cla-tm")
    await s.act("record-final-orders", "fsp-tm", date=EASTER.day(2027, 3, 25))  # the clock's day
    view = await s.act("accept", "cla-tm")
    assert view.stage is Stage.ready  # every requirement met; the checklist is not one
    await skip_to(ts_env, EASTER.utc(2027, 4, 12, 16, 1))  # the default date: Mon 12 Apr 17:00 BST
    view = await settled(s, at_stage(Stage.transferred))
    assert view.responsible_team == "cla"
    checklist = next(g for g in view.gates if g.id == "checklist")
    assert (checklist.done, checklist.outcome) == (False, "outstanding")
    await skip_to(ts_env, EASTER.utc(2027, 4, 14, 16, 1))
    chased = f"date missed: {OUTSTANDING}"
    await expect_mail(mailbox, {
        "cla-tm": [STARTED, "Case transfer standards (non-negotiable tasks) completed by the "
                   "transferring manager: outstanding",
                   "Care proceedings concluded with a care order and/or placement order: made",
                   moved("cla"), chased],
        "fsp-tm": [ACCEPTED, moved("cla"), chased]})


async def test_checklist_completed_before_the_transfer(ts_env, worker, mailbox):
    s = await opened(ts_env, worker, "fsp-to-cla-section-20", XMAS.local(2027, 1, 14, 10))
    await skip_to(ts_env, XMAS.local(2027, 1, 15, 10))
    await s.act("agree-outstanding-items", "fsp-tm", date=XMAS.day(2027, 1, 20), note="Photo")
    await skip_to(ts_env, XMAS.local(2027, 1, 19, 10))
    view = await s.act("complete-checklist", "fsp-tm", items=CHECKLIST)
    assert status(view, "checklist:outstanding") is DeadlineStatus.met
    await skip_to(ts_env, XMAS.utc(2027, 1, 20, 17, 1))
    await expect_mail(mailbox, {"cla-tm": [
        STARTED, "Case transfer standards (non-negotiable tasks) completed by the "
        "transferring manager: outstanding"]})


def inbox(mailbox: Any, who: str) -> list[str]:
    return _inbox(mailbox, A, who)
