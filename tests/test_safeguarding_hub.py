"""Seed 003 (the Safeguarding Hub authority) on the time-skipping server.

The front door (RAG rating within 24 hours; immediate safety within 3 hours, child in
need within 48 hours, less urgent contacts within 3 days; the private fostering visit
within 7 days), section 20 children moving at the second (4-month) review, the
end-of-proceedings, leaving-care, special guardianship and child protection transfers,
the Team Managers -> Service Manager ladder, and records that never hold a transfer up.

Due times are hand-computed literals (England & Wales bank holidays: Christmas Day, Boxing
Day's substitute Mon 28 Dec 2026 and New Year's Day 2027, Easter Monday 29 Mar 2027;
British Summer Time from Sun 28 Mar 2027), each in a scene (tests.dates.Scene) that runs at
the first stretch of calendar after today that is the same. Timers are crossed by moving
the server's clock, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
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

A = "safeguarding_hub"
PROTOCOL = PROTOCOLS[A]
LONDON = ZoneInfo("Europe/London")
RECORDS = list(PROTOCOL.pathways["s-and-p-to-cla-section-20"].gates["records"].items)

# Email headlines (the subject is "[safeguarding_hub] Case C1: <headline>").
STARTED = "transfer proposed to your team"
ACCEPTED = "Receiving Team Manager's decision: accepted"
ALLOCATED = "worker W1 allocated"
RAG_MISSED = "deadline missed: Contact RAG rated within 24 hours"
LADDER = "Disagreement between teams about the transfer"


def moved(team: str) -> str:
    return f"case transferred to {team}"


# The scenes: each from its first anchor to the last time a test moves the clock to.
XMAS = Scene("Christmas 2026", ((date(2026, 12, 21), date(2027, 2, 2)),),
             holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)))
EASTER = Scene("Easter 2027", ((date(2027, 3, 22), date(2027, 3, 31)),),
               holidays=(date(2027, 3, 26), date(2027, 3, 29)),
               clock_changes=(date(2027, 3, 28),))
# A clock of 4 calendar months: moved by whole years only (the same day of the month). Only
# the days it starts and ends on must be the same calendar: what the tests do between (10
# and 3 days before, 90 days after the start) is not checked against a working day.
FOUR_MONTHS = Scene("4 months from Mon 11 Jan 2027",
                    ((date(2027, 1, 11), date(2027, 1, 11)),
                     (date(2027, 5, 11), date(2027, 5, 11))),
                    whole_years=True)


# ----- helpers -------------------------------------------------------------------------


async def expect_mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await scenario.expect_mail(mailbox, A, expected)


def missed(name: str) -> Callable[[TransferView], bool]:
    return lambda view: status(view, name) is DeadlineStatus.missed


def title(pathway: str, name: str) -> str:
    return PROTOCOL.pathways[pathway].deadlines[name].title


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime,
                 by: str | None = None) -> Scenario:
    s = Scenario(ts_env.client, worker, A, pathway)
    await skip_to(ts_env, anchor)
    await s.open(anchor, by=by)
    return s


Step = tuple[str, str, dict[str, Any]]


async def take(s: Scenario, steps: list[Step] | tuple[Step, ...]) -> TransferView:
    view = await s.view()
    for action, who, body in steps:
        view = await s.act(action, who, **body)
    return view


# ----- the protocol file ----------------------------------------------------------------


def test_records_never_hold_a_transfer_and_disputes_go_to_service_managers():
    ladder = PROTOCOL.ladders["disagreement"]
    assert [(lv.role, lv.of, str(lv.allow) if lv.allow else None) for lv in ladder.levels] == [
        (Role.team_manager, [Side.sending, Side.receiving], "2 working days"),
        (Role.service_manager, [Side.sending, Side.receiving], None)]
    team_to_team = [p for p in PROTOCOL.pathways.values() if p.sending != "hub" and p.moves]
    assert len(team_to_team) == 14  # 8, and issue 9's six routes between teams
    for pathway in team_to_team:
        assert "records" not in pathway.transfer.requires
        assert set(pathway.outcomes("records")) == {"complete", "outstanding"}
        assert pathway.outcomes("accepted")["disputed"].dispute == "disagreement"
        assert pathway.transfer.when == "gates"
    for name in ("s-and-p-to-cla-section-20", "s-and-p-to-cwd-section-20"):
        assert [str(d.within) for d in PROTOCOL.pathways[name].deadlines.values()] == [
            "4 months"]
    for pathway in PROTOCOL.pathways.values():
        if pathway.sending == "hub":
            assert str(pathway.deadlines["rag_by"].within) == "24 hours"
            assert {"rag_rated", "sent"} <= set(pathway.transfer.requires)


# ----- the front door: every pathway on time, and overdue over Christmas -----------------


@dataclass(frozen=True)
class Front:
    pathway: str
    to: str
    on_time_due: datetime   # contact Tue 12 Jan 2027 09:00 GMT
    christmas_due: datetime  # contact Thu 24 Dec 2026 15:00 GMT (Christmas Eve)
    breach_to: tuple[str, ...]


FRONT = [
    # 3 elapsed hours.
    Front("hub-to-s-and-p-immediate-safety", "s_and_p", XMAS.utc(2027, 1, 12, 12),
          XMAS.utc(2026, 12, 24, 18), ("hub-tm", "s_and_p-tm", "hub-sm")),
    # 48 elapsed hours: over Christmas Day, due Boxing Day (a Saturday) 15:00.
    Front("hub-to-c-and-f-child-in-need", "c_and_f", XMAS.utc(2027, 1, 14, 9),
          XMAS.utc(2026, 12, 26, 15), ("hub-tm", "c_and_f-tm")),
    Front("hub-to-cwd-child-in-need", "cwd", XMAS.utc(2027, 1, 14, 9),
          XMAS.utc(2026, 12, 26, 15), ("hub-tm", "cwd-tm")),
    # 3 calendar days, due at 17:00: Fri 15 Jan; over Christmas, Sun 27 Dec.
    Front("hub-to-s-and-p-private-fostering", "s_and_p", XMAS.utc(2027, 1, 15, 17),
          XMAS.utc(2026, 12, 27, 17), ("hub-tm", "s_and_p-tm")),
    Front("hub-to-s-and-p-less-urgent", "s_and_p", XMAS.utc(2027, 1, 15, 17),
          XMAS.utc(2026, 12, 27, 17), ("hub-tm", "s_and_p-tm")),
    Front("hub-to-cla-adoption-request", "cla", XMAS.utc(2027, 1, 15, 17),
          XMAS.utc(2026, 12, 27, 17), ("hub-tm", "cla-tm")),
]
each_front_door = pytest.mark.parametrize("f", FRONT, ids=[f.pathway for f in FRONT])
PRIVATE_FOSTERING = "hub-to-s-and-p-private-fostering"
VISIT = "Child and carer visited within 7 days (private fostering)"


@each_front_door
async def test_front_door_on_time(ts_env, worker, mailbox, f: Front):
    anchor = XMAS.local(2027, 1, 12, 9)
    s = await opened(ts_env, worker, f.pathway, anchor, by="hub-sw")
    view = await s.view()
    assert deadline(view, "rag_by").due_at == XMAS.utc(2027, 1, 13, 9)
    assert deadline(view, "sent_by").due_at == f.on_time_due
    await skip_to(ts_env, XMAS.local(2027, 1, 12, 9, 30))
    kind, _ = await s.refused("send-to-team", "hub-tm")
    assert kind == "WrongStage"  # RAG rating first
    view = await s.act("record-rag-rating", "hub-sw")
    assert (view.stage, view.responsible_team) == (Stage.proposed, "hub")
    kind, _ = await s.refused("send-to-team", "hub-sw")
    assert kind == "NotPermitted"  # the Hub's Team Manager sends
    view = await s.act("send-to-team", "hub-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, f.to)
    assert {d.id: d.status for d in view.deadlines if d.kind == "deadline"} == {
        "rag_by": DeadlineStatus.met, "sent_by": DeadlineStatus.met}
    view = await s.act("allocate", f"{f.to}-tm", worker_id="W1")
    if f.pathway == PRIVATE_FOSTERING:
        # Sent Tue 12 Jan: the visit is due 7 days later, Tue 19 Jan 17:00 GMT.
        assert deadline(view, "first_visit").due_at == XMAS.utc(2027, 1, 19, 17)
        assert view.stage is Stage.allocated
        await skip_to(ts_env, XMAS.local(2027, 1, 15, 11))
        view = await s.act("record-private-fostering-visit", "s_and_p-sw")
        assert deadline(view, "first_visit").status is DeadlineStatus.met
    assert view.stage is Stage.closed
    await expect_mail(mailbox, {f"{f.to}-tm": [STARTED, moved(f.to)],
                                "hub-tm": [moved(f.to), ALLOCATED]})


@each_front_door
async def test_front_door_overdue_over_christmas(ts_env, worker, mailbox, f: Front):
    anchor = XMAS.local(2026, 12, 24, 15)
    s = await opened(ts_env, worker, f.pathway, anchor)
    dues = {"rag_by": XMAS.utc(2026, 12, 25, 15), "sent_by": f.christmas_due}
    view = await s.view()
    assert {name: deadline(view, name).due_at for name in dues} == dues
    sent_missed = f"deadline missed: {title(f.pathway, 'sent_by')}"
    expected: dict[str, list[str]] = {f"{f.to}-tm": [STARTED]}
    for name in sorted(dues, key=lambda n: dues[n]):
        await skip_to(ts_env, dues[name] - td(minutes=1))
        assert status(await s.view(), name) is DeadlineStatus.pending
        await skip_to(ts_env, dues[name] + td(minutes=1))
        for who in ("hub-tm",) if name == "rag_by" else f.breach_to:
            expected.setdefault(who, []).append(RAG_MISSED if name == "rag_by" else sent_missed)
        await expect_mail(mailbox, expected)
        view = await settled(s, missed(name))
        assert (view.stage, view.responsible_team) == (Stage.proposed, "hub")
    # Back on Mon 4 Jan 2027: nobody was emailed again; the Hub acts late and the case moves.
    await skip_to(ts_env, XMAS.local(2027, 1, 4, 9))
    await s.act("record-rag-rating", "hub-tm")
    view = await s.act("send-to-team", "hub-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, f.to)
    assert {n: status(view, n) for n in dues} == {n: DeadlineStatus.met_late for n in dues}
    for who in ("hub-tm", f"{f.to}-tm"):
        expected.setdefault(who, []).append(moved(f.to))
    if f.pathway == PRIVATE_FOSTERING:
        # The visit's 7 days ran from the notification (Thu 31 Dec): overdue on arrival.
        reminder = "reminder: Child and carer visited within 7 days (private fostering)"
        for who in ("s_and_p-tm", "s_and_p-sw"):
            expected.setdefault(who, []).append(reminder)
    await expect_mail(mailbox, expected)


async def test_private_fostering_visit_overdue_reminds_once(ts_env, worker, mailbox):
    s = await opened(ts_env, worker, PRIVATE_FOSTERING, XMAS.local(2026, 12, 24, 15))
    await skip_to(ts_env, XMAS.local(2026, 12, 24, 16))
    await s.act("record-rag-rating", "hub-sw")
    view = await s.act("send-to-team", "hub-tm")
    # Sent on Christmas Eve: 7 calendar days, due Thu 31 Dec 17:00 GMT.
    due = deadline(view, "first_visit").due_at
    assert due == XMAS.utc(2026, 12, 31, 17)
    await skip_to(ts_env, due - td(minutes=1))
    assert deadline(await s.view(), "first_visit").status is DeadlineStatus.pending
    await skip_to(ts_env, due + td(minutes=1))
    reminder = f"reminder: {VISIT}"
    expected = {"s_and_p-tm": [STARTED, moved("s_and_p"), reminder],
                "s_and_p-sw": [reminder], "hub-tm": [moved("s_and_p")]}
    await expect_mail(mailbox, expected)
    await skip_to(ts_env, due + td(days=3))
    view = await s.act("record-private-fostering-visit", "s_and_p-tm")
    assert deadline(view, "first_visit").status is DeadlineStatus.met_late
    await expect_mail(mailbox, expected)


async def test_private_fostering_visit_is_due_7_days_after_the_notification(ts_env, worker):
    s = await opened(ts_env, worker, PRIVATE_FOSTERING, XMAS.local(2026, 12, 21, 10))
    await skip_to(ts_env, XMAS.local(2026, 12, 24, 10))
    await s.act("record-rag-rating", "hub-sw")
    view = await s.act("send-to-team", "hub-tm")  # within the 3 days
    # Notified Mon 21 Dec: the visit is due Mon 28 Dec 17:00 GMT.
    assert deadline(view, "first_visit").due_at == XMAS.utc(2026, 12, 28, 17)


# ----- section 20: the second (4-month) review is the transfer point ---------------------


@dataclass(frozen=True)
class Review:
    pathway: str
    to: str
    deadline: str
    anchor: datetime   # the child became looked after
    due: datetime      # 4 calendar months later, 17:00 London (BST by then)
    before: tuple[Step, ...]
    review: Step


REVIEWS = [
    # (s-and-p-to-cla-section-20, whose planning discussion is a joint decision, is in
    # tests/test_safeguarding_hub_seed_rules.py.) From Mon 11 Jan 2027: Tue 11 May, 17:00 BST.
    Review("s-and-p-to-cwd-section-20", "cwd", "review_by", FOUR_MONTHS.local(2027, 1, 11, 10),
           FOUR_MONTHS.utc(2027, 5, 11, 16), (("accept", "cwd-tm", {}),),
           ("record-four-month-review", "s_and_p-tm",
            {"attendees": ["child", "parents", "s_and_p_social_worker", "cwd_social_worker"]})),
]
each_review = pytest.mark.parametrize("r", REVIEWS, ids=[r.pathway for r in REVIEWS])


@each_review
async def test_section_20_moves_at_the_review(ts_env, worker, mailbox, r: Review):
    s = await opened(ts_env, worker, r.pathway, r.anchor)
    assert deadline(await s.view(), r.deadline).due_at == r.due
    await skip_to(ts_env, r.due - td(days=10))
    view = await take(s, r.before)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "s_and_p")
    await skip_to(ts_env, r.due - td(days=3))
    view = await s.act(r.review[0], r.review[1], **r.review[2])
    assert (view.stage, view.responsible_team) == (Stage.transferred, r.to)
    assert status(view, r.deadline) is DeadlineStatus.met
    await s.act("allocate", f"{r.to}-tm", worker_id="W1")
    await expect_mail(mailbox, {f"{r.to}-tm": [STARTED, moved(r.to)],
                                "s_and_p-tm": [ACCEPTED, moved(r.to), ALLOCATED]})


@each_review
async def test_section_20_review_overdue(ts_env, worker, mailbox, r: Review):
    s = await opened(ts_env, worker, r.pathway, r.anchor)
    await skip_to(ts_env, r.anchor + td(days=90))
    await take(s, r.before)
    await skip_to(ts_env, r.due - td(minutes=1))
    assert status(await s.view(), r.deadline) is DeadlineStatus.pending
    await skip_to(ts_env, r.due + td(minutes=1))
    late = f"deadline missed: {title(r.pathway, r.deadline)}"
    expected = {f"{r.to}-tm": [STARTED, late], "s_and_p-tm": [ACCEPTED, late]}
    await expect_mail(mailbox, expected)
    view = await settled(s, lambda v: v.overdue)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "s_and_p")
    await skip_to(ts_env, r.due + td(days=4))
    view = await s.act(r.review[0], r.review[1], **r.review[2])
    assert (view.stage, view.responsible_team) == (Stage.transferred, r.to)
    assert status(view, r.deadline) is DeadlineStatus.met_late
    expected[f"{r.to}-tm"].append(moved(r.to))
    expected["s_and_p-tm"].append(moved(r.to))
    await expect_mail(mailbox, expected)


# ----- transfer points without a timescale ------------------------------------------------


@dataclass(frozen=True)
class Point:
    pathway: str
    steps: tuple[Step, ...]  # the last one completes the transfer

    @property
    def sending(self) -> str:
        return PROTOCOL.pathways[self.pathway].sending

    @property
    def receiving(self) -> str:
        return PROTOCOL.pathways[self.pathway].receiving


# (The end-of-proceedings transfers now have a clock: tests/test_safeguarding_hub_seed_rules.py.)
POINTS = [
    Point("s-and-p-to-cla-leaving-care",
          (("record-pathways-assessment", "s_and_p-sw", {}), ("accept", "cla-tm", {}),
           ("record-joint-visit", "cla-sw", {"attendees": [
               "young_person", "s_and_p_social_worker", "leaving_care_adviser"]}))),
    Point("cla-to-s-and-p-special-guardianship",
          (("accept", "s_and_p-tm", {}), ("record-final-hearing", "cla-tm", {}))),
    Point("cwd-to-s-and-p-child-protection",
          (("accept", "s_and_p-tm", {}),
           ("record-strategy-meeting", "s_and_p-tm", {"attendees": ["s_and_p_team_manager"]}),
           ("record-cp-plan", "s_and_p-tm", {}), ("record-involved-worker", "cwd-tm", {}))),
    Point("adoption-support-to-s-and-p-child-protection",
          (("accept", "s_and_p-tm", {}), ("record-consultation", "adoption_support-tm",
                                          {"attendees": ["adoption_support_team_manager",
                                                         "s_and_p_team_manager"]}))),
]
each_point = pytest.mark.parametrize("p", POINTS, ids=[p.pathway for p in POINTS])


@each_point
async def test_transfers_at_its_point(ts_env, worker, mailbox, p: Point):
    s = await opened(ts_env, worker, p.pathway, XMAS.local(2027, 2, 1, 10))
    await skip_to(ts_env, XMAS.local(2027, 2, 2, 10))
    *before, (action, who, body) = p.steps
    view = await take(s, before)
    assert (view.stage, view.responsible_team) == (Stage.proposed, p.sending)
    view = await s.act(action, who, **body)
    assert (view.stage, view.responsible_team) == (Stage.transferred, p.receiving)
    assert [d for d in view.deadlines if d.kind == "deadline"] == []
    await s.act("allocate", f"{p.receiving}-tm", worker_id="W1")
    await expect_mail(mailbox, {f"{p.receiving}-tm": [STARTED, moved(p.receiving)],
                                f"{p.sending}-tm": [ACCEPTED, moved(p.receiving),
                                                    ALLOCATED]})


@each_point
async def test_until_its_point_the_sending_team_stays_responsible(ts_env, worker, mailbox,
                                                                  p: Point):
    """No timescale in the seed, none invented: a year on, nothing moved and nobody chased."""
    s = await opened(ts_env, worker, p.pathway, XMAS.local(2027, 2, 1, 10))
    await skip_to(ts_env, XMAS.local(2027, 2, 2, 10))
    await take(s, p.steps[:-1])  # everything but the transfer point
    await skip_to(ts_env, XMAS.local(2027, 2, 1, 10) + td(weeks=52))
    view = await s.view()
    assert (view.stage, view.responsible_team) == (Stage.proposed, p.sending)
    assert view.deadlines == [] and not view.overdue
    accepted = [ACCEPTED] if any(a == "accept" for a, _, _ in p.steps[:-1]) else []
    await expect_mail(mailbox, {f"{p.receiving}-tm": [STARTED], f"{p.sending}-tm": accepted})


# ----- the dispute ladder: Team Managers, then the Service Managers ------------------------


async def test_dispute_resolved_by_the_service_manager_after_christmas(ts_env, worker, mailbox):
    s = await opened(ts_env, worker, "s-and-p-to-cla-end-of-proceedings",
                     XMAS.local(2026, 12, 23, 10))
    await s.act("record-adoption-plan", "s_and_p-sw")
    await s.act("record-permanence-report", "s_and_p-sw")
    await skip_to(ts_env, XMAS.local(2026, 12, 24, 11))
    kind, message = await s.refused("dispute", "cla-tm")
    assert kind == "InvalidInput" and "Say why" in message
    view = await s.act("dispute", "cla-tm", note="Care plan not yet agreed")
    assert (view.stage, view.responsible_team, view.escalation_level) == (
        Stage.disputed, "s_and_p", 1)
    # Two working days: 25 and 28 Dec are bank holidays: Tue 29, Wed 30 Dec 17:00 GMT.
    assert view.dispute is not None and view.dispute.level_due_at == XMAS.utc(2026, 12, 30, 17)
    referred = f"dispute referred to you: {LADDER}"
    expected = {"cla-tm": [STARTED, referred], "s_and_p-tm": [referred]}
    await expect_mail(mailbox, expected)

    await skip_to(ts_env, XMAS.utc(2026, 12, 30, 16, 59))
    assert (await s.view()).escalation_level == 1
    await skip_to(ts_env, XMAS.utc(2026, 12, 30, 17, 1))
    told = f"dispute not resolved within 2 working days: {LADDER}"
    expected |= {"s_and_p-sm": [told], "cla-sm": [told]}
    await expect_mail(mailbox, expected)
    view = await settled(s, lambda v: v.escalation_level == 2)
    assert (view.stage, view.responsible_team) == (Stage.disputed, "s_and_p")

    await skip_to(ts_env, XMAS.local(2026, 12, 31, 10))
    kind, _ = await s.refused("resolve-dispute", "s_and_p-tm", resolution="proceed", note="x")
    assert kind == "NotPermitted"  # the Team Managers' time has passed
    view = await s.act("resolve-dispute", "cla-sm", resolution="proceed",
                       note="Agreed with the Support and Protection Service Manager")
    assert (view.stage, view.responsible_team, view.dispute) == (Stage.transferred, "cla", None)
    for tm in ("cla-tm", "s_and_p-tm"):
        expected[tm] += ["dispute resolved: proceed", moved("cla")]
    await expect_mail(mailbox, expected)


# ----- records never hold a transfer up ---------------------------------------------------

LEAVING_CARE_STEPS: tuple[Step, ...] = next(
    p.steps for p in POINTS if p.pathway == "s-and-p-to-cla-leaving-care")
OUTSTANDING = "Outstanding records completed by the agreed date"


async def outstanding_then_transferred(ts_env: Any, worker: Any) -> tuple[Scenario, TransferView]:
    # Proposed as the young person nears 15 years 6 months (no date of birth is held).
    s = await opened(ts_env, worker, "s-and-p-to-cla-leaving-care", EASTER.local(2027, 3, 22, 9))
    await skip_to(ts_env, EASTER.local(2027, 3, 23, 10))
    view = await s.act("agree-outstanding-records", "s_and_p-tm",
                       note="Chronology and care plan to finish", date=EASTER.day(2027, 3, 30))
    assert deadline(view, "records:outstanding").due_at == EASTER.utc(2027, 3, 30, 16)  # 17:00 BST
    view = await take(s, LEAVING_CARE_STEPS)
    return s, view


async def test_transfer_proceeds_with_records_outstanding(ts_env, worker, mailbox):
    s, view = await outstanding_then_transferred(ts_env, worker)
    assert (view.anchor, view.anchor_at) == ("leaving_care_transfer_proposed",
                                             EASTER.local(2027, 3, 22, 9))
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cla")
    records = next(g for g in view.gates if g.id == "records")
    assert (records.done, records.outcome) == (False, "outstanding")
    await skip_to(ts_env, EASTER.utc(2027, 3, 30, 15, 59))
    assert status(await s.view(), "records:outstanding") is DeadlineStatus.pending
    await skip_to(ts_env, EASTER.utc(2027, 3, 30, 16, 1))
    chased = f"date missed: {OUTSTANDING}"
    await expect_mail(mailbox, {
        "cla-tm": [STARTED, "Records completed by the sending team: outstanding",
                   moved("cla"), chased],
        "s_and_p-tm": [ACCEPTED, moved("cla"), chased]})


async def test_outstanding_records_date_on_a_bank_holiday_is_refused(ts_env, worker):
    """A pathway with no clock still knows its bank holidays (Easter Monday 29 Mar 2027)."""
    s = await opened(ts_env, worker, "s-and-p-to-cla-leaving-care", EASTER.local(2027, 3, 22, 9))
    await skip_to(ts_env, EASTER.local(2027, 3, 23, 10))
    kind, message = await s.refused("agree-outstanding-records", "s_and_p-tm",
                                    note="Chronology to finish", date=EASTER.day(2027, 3, 29))
    assert kind == "InvalidInput" and "not a working day" in message


async def test_outstanding_records_can_be_completed_after_the_transfer(ts_env, worker):
    s, _ = await outstanding_then_transferred(ts_env, worker)
    view = await s.act("complete-records", "s_and_p-tm", items=RECORDS)
    assert status(view, "records:outstanding") is DeadlineStatus.met


def inbox(mailbox: Any, who: str) -> list[str]:
    return _inbox(mailbox, A, who)
