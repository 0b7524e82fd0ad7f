"""Nottingham's Case Transfer Procedure (seed 002), every pathway, on the time-skipping server.

Each pathway has a happy path and a breach path. Due times are hand-computed literals (across
Christmas 2026, Easter 2027, May Day 2027 and the clock change of Sun 28 Mar 2027), each in a
scene (tests.dates.Scene) that runs at the first stretch of calendar after today that is the
same, reached by moving the server's clock, never by sleeping. Every email is checked as
(when, to whom, what) in the outbox, and as delivered by the SMTP server: exactly once per
notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.service import RPCError, RPCStatusCode

from models.protocol import GateKind, RoleRef, Side
from models.transfer import DeadlineStatus, Stage, TransferView
from tests.dates import Scene
from tests.scenario import PROTOCOLS, Scenario, deadline
from tests.transfers import events, eventually, outbox, skip_to

N = "nottingham"
PATHWAYS = PROTOCOLS[N].pathways
LONDON = ZoneInfo("Europe/London")
STARTED = "transfer proposed to your team"
ALLOCATED = "worker W1 allocated"
LADDER = "Disagreement about the transfer"
Email = tuple[datetime, str, str]  # when, who (staff id without "nottingham-"), headline
Step = tuple[str, str]  # action, who


# The scenes: each from its first anchor to the last time a test moves the clock to.
XMAS = Scene("Christmas 2026", ((date(2026, 12, 22), date(2027, 1, 5)),),
             holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)))
EASTER = Scene("Easter 2027", ((date(2027, 3, 22), date(2027, 4, 10)),),
               holidays=(date(2027, 3, 26), date(2027, 3, 29)),
               clock_changes=(date(2027, 3, 28),))
SPRING = Scene("May Day to the Spring bank holiday 2027", ((date(2027, 4, 13), date(2027, 5, 31)),),
               holidays=(date(2027, 5, 3), date(2027, 5, 31)))
# Periods of 6 and 12 calendar weeks: only the days the tests use are the same calendar.
WEEKS = Scene("6 and 12 weeks from Wed 21 Apr 2027",
              ((date(2027, 4, 12), date(2027, 4, 22)), (date(2027, 6, 1), date(2027, 6, 22)),
               (date(2027, 7, 13), date(2027, 7, 15))))
# Two calendar months: moved by whole years only (the same day of the month).
ADOPTION = Scene("2 months from Tue 4 May 2027",
                 ((date(2027, 4, 27), date(2027, 5, 4)), (date(2027, 6, 28), date(2027, 6, 28)),
                  (date(2027, 7, 4), date(2027, 7, 5))),
                 holidays=(date(2027, 5, 3),), whole_years=True)


def minute(t: datetime) -> datetime:
    """To the nearest minute, in UTC: actions land a few milliseconds after a skip."""
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return (t.astimezone(UTC) + timedelta(seconds=30)).replace(second=0, microsecond=0)


def to(when: datetime, whos: str, what: str) -> list[Email]:
    return [(when, who, what) for who in whos.split()]


def missed(title: str) -> str:
    return f"deadline missed: {title}"


def moved(team: str) -> str:
    return f"case transferred to {team}"


# ----- emails: the outbox (who, what, when) and the SMTP server (delivered once) ---------

def sent(engine, run_id) -> list[Email]:
    return sorted((minute(n.created_at), n.recipient_id.removeprefix(f"{N}-"),
                   n.subject.split(": ", 1)[1]) for n in outbox(engine, run_id))


def received(mailbox) -> list[tuple[str, str]]:
    return sorted((rcpt.split("@")[0].removeprefix(f"{N}-"),
                   str(m["Subject"]).replace("\r\n", "").split(": ", 1)[1])  # unfolded
                  for rcpts, m in mailbox.messages for rcpt in rcpts)


async def emails(mailbox, engine, view: TransferView, expected: Iterable[Email]) -> None:
    """Exactly these emails so far, each delivered once."""
    want = sorted((minute(t), who, what) for t, who, what in expected)
    try:
        await eventually(lambda: sent(engine, view.run_id), lambda got: got == want, seconds=10)
        await eventually(lambda: received(mailbox),
                         lambda got: got == sorted((w, h) for _, w, h in want), seconds=10)
    except AssertionError:
        assert sent(engine, view.run_id) == want
        assert received(mailbox) == sorted((w, h) for _, w, h in want)
        raise


# ----- driving a transfer -----------------------------------------------------------------

async def opened(ts_env, worker, pathway: str, anchor: datetime, **kw: Any
                 ) -> tuple[Scenario, TransferView]:
    now = await ts_env.get_current_time()
    assert anchor >= now - timedelta(minutes=1), f"{anchor} has passed"
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, N, pathway)
    return s, await s.open(anchor, **kw)


def filled(s: Scenario, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """A checklist confirms every item and a meeting names its attendees, unless told."""
    found = s.pathway.actions().get(action)
    if found is not None and found[1] in ("done", "accepted", "agreed"):
        gate = s.pathway.gates[found[0]]
        if gate.kind is GateKind.checklist:
            body.setdefault("items", gate.items)
        if gate.kind is GateKind.meeting:
            body.setdefault("attendees", gate.attendees)
    return body


async def act(ts_env, s: Scenario, when: datetime | None, action: str, who: str,
              **body: Any) -> TransferView:
    if when is not None:
        await skip_to(ts_env, when)
    found = s.pathway.actions().get(action)
    if found is not None and s.pathway.outcomes(found[0])[found[1]].event_date:
        body.setdefault("date", (await ts_env.get_current_time()).astimezone(LONDON).date())
    return await s.act(action, who, **filled(s, action, body))


async def walk(ts_env, s: Scenario, when: datetime | None, steps: list[Step]) -> TransferView:
    view = await s.view()
    for action, who in steps:
        view = await act(ts_env, s, when, action, who)
    return view


SHORT = {"team_manager": "tm", "social_worker": "sw", "service_manager": "sm",
         "senior_practitioner": "sp", "advanced_practitioner": "ap"}


def holders(s: Scenario, refs: Iterable[RoleRef]) -> str:
    """The demo staff holding `role@from` / `role@to`, as `to()` takes them."""
    return " ".join(f"{s.pathway.sending if r.side is Side.sending else s.pathway.receiving}-"
                    f"{SHORT[r.role.value]}" for r in refs)


def started(s: Scenario, when: datetime) -> list[Email]:
    return to(when, holders(s, s.pathway.notify.started), STARTED)


def acceptance(s: Scenario, when: datetime, steps: Iterable[Step],
               done: Iterable[Step] = ()) -> list[Email]:
    """What the steps send: a gate's notices (`<gate title>[: <outcome>]`), and a joint
    decision's call for the other party's agreement (once one party has agreed)."""
    found, agreed = [], {action for action, _ in done}
    for action, who in steps:
        if action not in s.pathway.actions():
            continue  # a post-transfer task
        gate_id, outcome = s.pathway.actions()[action]
        gate = s.pathway.gates[gate_id]
        if gate.joint and action not in agreed:
            agreed.add(action)
            found += to(when, holders(s, [r for r in gate.by if holders(s, [r]) != who]),
                        f"your agreement is needed: {gate.title}")
            continue
        refs = [*gate.notify, *s.pathway.outcomes(gate_id)[outcome].notify]
        found += to(when, holders(s, refs),
                    gate.title if outcome == "done" else f"{gate.title}: {outcome}")
    return found


# ----- every pathway: the steps of its happy path -------------------------------------------

STEPS: dict[str, list[Step]] = {
    "fieldwork-to-cic": [("confirm-receipt", "cic-tm"), ("record-order-granted", "fieldwork-tm"),
                         ("record-joint-visit", "cic-sw"), ("complete-checklist", "fieldwork-tm"),
                         ("initiate", "fieldwork-tm"), ("accept", "cic-tm")],
    "mash-to-early-help": [("complete-checklist", "mash-sw"), ("accept", "early_help-tm")],
    "mash-to-tfst": [("complete-checklist", "mash-tm"), ("accept", "tfst-tm")],
    "mash-to-bit": [("complete-checklist", "mash-tm"), ("accept", "bit-tm")],
    "mash-to-duty": [("complete-checklist", "mash-tm"), ("accept", "duty-tm")],
    "mash-to-fieldwork": [("complete-checklist", "mash-tm"), ("accept", "fieldwork-tm")],
    "duty-to-fieldwork-cin": [("complete-checklist", "duty-tm"), ("accept", "fieldwork-tm"),
                              ("record-cin-planning-meeting", "fieldwork-sw"),
                              ("record-handover-visit", "duty-sw")],
    "duty-to-fieldwork-cp": [("record-icpc", "duty-sw"), ("accept", "fieldwork-tm"),
                             ("complete-checklist", "duty-tm")],
    "duty-to-fieldwork-cic": [("record-assessment-and-review", "duty-tm"),
                              ("complete-checklist", "duty-tm"), ("review-case", "fieldwork-tm"),
                              ("accept", "fieldwork-tm")],
    "duty-to-cic-uasc": [("record-assessment-and-review", "duty-tm"),
                         ("complete-checklist", "duty-tm"), ("review-case", "cic-tm"),
                         ("accept", "cic-tm")],
    "duty-to-tfst": [("agree-transfer", "tfst-tm"), ("complete-checklist", "duty-tm"),
                     ("accept", "tfst-tm")],
    "duty-to-early-help": [("agree-transfer", "early_help-tm"), ("complete-checklist", "duty-tm"),
                           ("accept", "early_help-tm")],
    "fieldwork-to-tfst": [("record-joint-visit", "fieldwork-sw"),
                          ("complete-checklist", "fieldwork-tm"), ("agree-transfer", "tfst-tm"),
                          ("agree-transfer", "fieldwork-tm"),
                          ("record-cin-review", "fieldwork-sw")],
    "fieldwork-to-early-help": [("record-joint-visit", "fieldwork-sw"),
                                ("complete-checklist", "fieldwork-tm"),
                                ("agree-transfer", "early_help-tm"),
                                ("agree-transfer", "fieldwork-tm"),
                                ("record-cin-review", "fieldwork-tm")],
    "cic-to-fieldwork": [("record-discussion", "fieldwork-tm"), ("record-cic-review", "cic-tm"),
                         ("record-joint-visit", "cic-sw"), ("complete-checklist", "cic-tm"),
                         ("initiate", "cic-tm"), ("accept", "fieldwork-tm")],
    "cic-to-tfst": [("record-discussion", "cic-tm"), ("record-cic-review", "cic-sw"),
                    ("record-joint-visit", "cic-sw"), ("complete-checklist", "cic-tm"),
                    ("initiate", "cic-tm"), ("accept", "tfst-tm")],
    "fieldwork-to-permanency-adoption": [
        ("complete-checklist", "fieldwork-sw"), ("record-joint-visit", "permanency-sw"),
        ("complete-transfer-checklist", "fieldwork-tm"), ("initiate", "fieldwork-tm"),
        ("accept", "permanency-tm")],
    "fieldwork-to-permanency-sgo": [
        ("share-sg-plan", "fieldwork-sw"), ("complete-checklist", "fieldwork-tm"),
        ("record-joint-visit", "permanency-ap"), ("complete-transfer-checklist", "fieldwork-tm"),
        ("initiate", "fieldwork-tm"), ("accept", "permanency-tm")],
    "permanency-to-cic": [("ratify-plan", "iro"), ("agree-allocation", "cic-tm"),
                          ("complete-checklist", "permanency-sw"),
                          ("record-joint-visit", "cic-sw"),
                          ("complete-transfer-checklist", "permanency-tm"),
                          ("initiate", "permanency-tm"), ("accept", "cic-tm")],
    "cic-to-leaving-care": [("record-cic-review", "cic-sw"), ("record-joint-visit", "cic-sw"),
                            ("complete-checklist", "cic-tm"), ("initiate", "cic-tm"),
                            ("accept", "leaving_care-tm")],
    "fieldwork-to-leaving-care": [
        ("record-cic-review", "fieldwork-sw"), ("record-joint-visit", "fieldwork-sw"),
        ("complete-checklist", "fieldwork-tm"), ("initiate", "fieldwork-tm"),
        ("accept", "leaving_care-tm")],
    "tfst-to-early-help": [("record-case-not-from-social-care", "tfst-tm"),
                           ("agree-co-working", "tfst-tm"), ("record-joint-visit", "tfst-sw"),
                           ("complete-checklist", "tfst-tm"), ("agree-transfer", "early_help-tm"),
                           ("agree-transfer", "tfst-tm"), ("record-eh-review", "tfst-sw")],
    "early-help-to-tfst": [("record-joint-visit", "early_help-sw"), ("agree-transfer", "tfst-tm"),
                           ("agree-transfer", "early_help-tm"), ("agree-co-working", "tfst-tm"),
                           ("complete-checklist", "early_help-tm"), ("initiate", "early_help-tm"),
                           ("accept", "tfst-tm")],
    "tfst-to-fieldwork": [("record-safeguarding-concerns", "fieldwork-tm"),
                          ("agree-co-working", "fieldwork-tm"), ("agree-co-working", "tfst-tm"),
                          ("record-joint-visit", "tfst-sw"), ("complete-checklist", "tfst-tm"),
                          ("agree-transfer", "fieldwork-tm"), ("agree-transfer", "tfst-tm")],
    "early-help-to-fieldwork": [("record-safeguarding-concerns", "early_help-tm"),
                                ("agree-co-working", "early_help-tm"),
                                ("agree-co-working", "fieldwork-tm"),
                                ("record-joint-visit", "early_help-sw"),
                                ("complete-checklist", "early_help-tm"),
                                ("agree-transfer", "fieldwork-tm"),
                                ("agree-transfer", "early_help-tm")],
    # issue 9's internal routes (tests/test_nottingham_routes.py walks each in detail)
    **{f"{team.replace('_', '-')}-to-duty": [
        ("record-threshold-met", f"{team}-tm"), ("complete-checklist", f"{team}-tm"),
        ("accept", "duty-tm")] for team in ("early_help", "tfst", "bit")},
    **{f"tfst-to-{to}": [
        ("record-case-not-from-social-care", "tfst-tm"), ("complete-checklist", "tfst-tm"),
        ("agree-transfer", f"{team}-tm"), ("agree-transfer", "tfst-tm")]
       for to, team in (("bit", "bit"), ("parenting", "parenting"))},
    "tfst-to-fieldwork-section-47": [("take-section-47", "fieldwork-tm")],
    "early-help-to-fieldwork-section-47": [("take-section-47", "fieldwork-tm")],
    **{f"fieldwork-to-{to}-threshold-not-met": [
        ("record-closure-summary", "fieldwork-sw"), ("complete-checklist", "fieldwork-sw"),
        ("accept", f"{team}-tm")] for to, team in (("tfst", "tfst"), ("early-help", "early_help"))},
}
# Pathways whose transfer stays open after the allocation (periods or post-transfer tasks).
WITH_PERIODS = {p for p, pathway in PATHWAYS.items() if pathway.after_transfer}


def test_every_pathway_of_the_seed_is_encoded() -> None:
    assert set(PATHWAYS) == set(STEPS)
    assert {(p.sending, p.receiving) for p in PATHWAYS.values()} == {
        ("mash", "early_help"), ("mash", "tfst"), ("mash", "bit"), ("mash", "duty"),
        ("mash", "fieldwork"), ("duty", "fieldwork"), ("duty", "cic"), ("duty", "tfst"),
        ("duty", "early_help"), ("fieldwork", "cic"), ("fieldwork", "tfst"),
        ("fieldwork", "early_help"), ("cic", "fieldwork"), ("cic", "tfst"),
        ("fieldwork", "permanency"), ("permanency", "cic"), ("cic", "leaving_care"),
        ("fieldwork", "leaving_care"), ("tfst", "early_help"), ("early_help", "tfst"),
        ("tfst", "fieldwork"), ("early_help", "fieldwork"),
        # issue 9's internal routes
        ("early_help", "duty"), ("tfst", "duty"), ("bit", "duty"), ("tfst", "bit"),
        ("tfst", "parenting")}
    # Managers may disagree about every transfer: each pathway can start the 24 h + 24 h ladder,
    # from a receiving decision or raised by either side at any stage.
    assert all(set(p.disputes()) == {"dispute"} for p in PATHWAYS.values())
    assert all(p.raise_dispute is not None for p in PATHWAYS.values())
    ladder = PROTOCOLS[N].ladders["dispute"]
    assert [(lv.role.value, str(lv.allow)) for lv in ladder.levels] == [
        ("service_manager", "24 hours"), ("head_of_service", "24 hours")]


@pytest.mark.parametrize("pathway", sorted(STEPS))
async def test_happy_path_of_every_pathway(ts_env, worker, directory_engine, mailbox, pathway):
    anchor = SPRING.local(2027, 4, 13, 9)  # Tue 13 Apr 2027, one step every ten minutes
    s, view = await opened(ts_env, worker, pathway, anchor)
    steps = STEPS[pathway]
    sending, receiving = s.pathway.sending, s.pathway.receiving
    expected = started(s, anchor)
    for i, (action, who) in enumerate(steps, start=1):
        assert (view.stage, view.responsible_team) in ((Stage.proposed, sending),
                                                       (Stage.ready, sending))
        when = anchor + timedelta(minutes=10 * i)
        view = await act(ts_env, s, when, action, who)
        expected += acceptance(s, when, [(action, who)], done=steps[:i - 1])
    moved_at = anchor + timedelta(minutes=10 * len(steps))
    assert (view.stage, view.responsible_team) == (Stage.transferred, receiving)
    assert view.transferred_at is not None and minute(view.transferred_at) == minute(moved_at)
    assert not view.overdue and all(d.status is not DeadlineStatus.missed
                                    for d in view.deadlines)
    view = await act(ts_env, s, moved_at + timedelta(hours=1), "allocate", f"{receiving}-tm",
                     worker_id="W1")
    assert view.stage is (Stage.allocated if pathway in WITH_PERIODS else Stage.closed)
    expected += to(moved_at, f"{sending}-tm {receiving}-tm", moved(receiving))
    expected += to(moved_at + timedelta(hours=1), f"{sending}-tm", ALLOCATED)
    await emails(mailbox, directory_engine, view, expected)
    # The sending team held the case in every change before the transfer instant.
    trail = events(directory_engine, view.run_id)
    moved_seq = next(e.seq for e in trail if e.kind == "transferred")
    assert {e.stage for e in trail if e.seq < moved_seq} <= {"proposed", "ready"}


@pytest.mark.parametrize("pathway", sorted(STEPS))
async def test_dispute_of_every_pathway_climbs_the_ladder_to_the_minute(
        ts_env, worker, directory_engine, mailbox, pathway):
    # Sat 27 Mar 2027 12:00 GMT: the clocks go forward the next night; the ladder counts
    # elapsed hours, so the Heads of Service are called at 13:00 BST on Sunday and told the 48
    # hours have passed at 13:00 BST on Monday (the relevant ones: of the two teams' services).
    disputed_at = EASTER.local(2027, 3, 27, 12)
    s, view = await opened(ts_env, worker, pathway, disputed_at)
    steps = STEPS[pathway]
    first = next(i for i, (action, _) in enumerate(steps)
                 if s.pathway.actions()[action][0] in {
                     g for g in s.pathway.gates if "disputed" in s.pathway.outcomes(g)})
    await walk(ts_env, s, None, steps[:first])
    refusal = await s.refused("dispute", steps[first][1])
    assert refusal[0] == "InvalidInput" and "Say why" in refusal[1]
    view = await s.act("dispute", steps[first][1], note="Managers disagree")
    sending, receiving = s.pathway.sending, s.pathway.receiving
    assert view.dispute is not None
    assert (view.stage, view.responsible_team, view.escalation_level) == (
        Stage.disputed, sending, 1)
    assert view.dispute.level_due_local == EASTER.label("Sun 28 Mar 2027 13:00 BST")
    expected = started(s, disputed_at) + acceptance(s, disputed_at, steps[:first])
    expected += to(disputed_at, f"{sending}-sm {receiving}-sm",
                   f"dispute referred to you: {LADDER}")
    heads = " ".join(sorted({f"{s.pathway.services[t]}-hos" for t in (sending, receiving)}))
    escalated = EASTER.utc(2027, 3, 28, 12)
    await skip_to(ts_env, escalated - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, escalated + timedelta(minutes=1))
    expected += to(escalated, heads, f"dispute escalated to you: {LADDER}")
    await emails(mailbox, directory_engine, view, expected)
    view = await s.view()
    assert view.dispute is not None
    assert view.dispute.level_due_local == EASTER.label("Mon 29 Mar 2027 13:00 BST")
    told = EASTER.utc(2027, 3, 29, 12)
    await skip_to(ts_env, told - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, told + timedelta(minutes=1))
    expected += to(told, heads, f"dispute not resolved within 48 hours: {LADDER}")
    await emails(mailbox, directory_engine, view, expected)
    view = await s.view()
    assert (view.stage, view.responsible_team, view.escalation_level) == (
        Stage.disputed, sending, 2)


# ----- Fieldwork -> Children in Care: 72-hour response, 10 days from the order ---------------

RESPONSE = "Children in Care Team Manager responds within 72 hours"


@pytest.mark.parametrize(("anchor", "warn_at", "due_at", "due_local"), [
    # Wed 23 Dec 2026 14:30 GMT: half time at 02:30 on Christmas Day, due on Boxing Day.
    (XMAS.local(2026, 12, 23, 14, 30), XMAS.utc(2026, 12, 25, 2, 30),
     XMAS.utc(2026, 12, 26, 14, 30), XMAS.label("Sat 26 Dec 2026 14:30 GMT")),
    # Fri 26 Mar 2027 09:00 GMT: the clocks go forward on Sun 28 Mar, so 72 elapsed hours
    # end at 10:00 BST on Mon 29 Mar; half time is 36 hours later, 21:00 GMT on Saturday.
    (EASTER.local(2027, 3, 26, 9), EASTER.utc(2027, 3, 27, 21), EASTER.utc(2027, 3, 29, 9),
     EASTER.label("Mon 29 Mar 2027 10:00 BST")),
])
async def test_cic_response_clock_warns_at_half_time_and_breaches_to_the_minute(
        ts_env, worker, directory_engine, mailbox, anchor, warn_at, due_at, due_local):
    s, view = await opened(ts_env, worker, "fieldwork-to-cic", anchor)
    assert [d.id for d in view.deadlines] == ["response_due"]  # 10 days: from the order
    due = deadline(view, "response_due")
    assert (due.due_at, due.due_local, due.warn_at) == (due_at, due_local, [warn_at])
    expected = to(anchor, "cic-tm", STARTED)
    await skip_to(ts_env, warn_at - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, warn_at + timedelta(minutes=1))
    expected += to(warn_at, "cic-tm", f"50% of the time gone: {RESPONSE}")
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, due_at - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    assert deadline(await s.view(), "response_due").status is DeadlineStatus.pending
    await skip_to(ts_env, due_at + timedelta(minutes=1))
    expected += to(due_at, "cic-tm cic-sm fieldwork-tm", missed(RESPONSE))
    await emails(mailbox, directory_engine, view, expected)
    view = await s.act("confirm-receipt", "cic-tm")
    assert deadline(view, "response_due").status is DeadlineStatus.met_late
    assert (view.responsible_team, view.overdue) == ("fieldwork", False)
    await skip_to(ts_env, due_at + timedelta(days=1))  # nothing is sent twice
    await emails(mailbox, directory_engine, view, expected)


TEN_DAYS = "Transfer within 10 days of the order or decision"
# The order granted Mon 19 Apr 2027 (recorded that day, 09:00 BST): the clock runs from the
# start of the day; day 10 is Thu 29 Apr, due 17:00 BST; warnings at 50% and 80% of the 257
# hours between: Sat 24 Apr 08:30, Tue 27 Apr 13:36 BST.
CIC_ANCHOR, CIC_DUE = SPRING.local(2027, 4, 19, 9), SPRING.utc(2027, 4, 29, 16)
CIC_HALF, CIC_EIGHTY = SPRING.utc(2027, 4, 24, 7, 30), SPRING.utc(2027, 4, 27, 12, 36)


@pytest.mark.parametrize("on_time", [True, False])
async def test_fieldwork_to_cic_within_10_days_with_warnings(
        ts_env, worker, directory_engine, mailbox, on_time):
    s, view = await opened(ts_env, worker, "fieldwork-to-cic", CIC_ANCHOR)
    view = await act(ts_env, s, None, "record-order-granted", "fieldwork-tm")
    by = deadline(view, "transfer_by")
    assert (by.due_at, by.due_local, by.warn_at) == (
        CIC_DUE, SPRING.label("Thu 29 Apr 2027 17:00 BST"), [CIC_HALF, CIC_EIGHTY])
    await act(ts_env, s, SPRING.local(2027, 4, 19, 11), "confirm-receipt", "cic-tm")
    await act(ts_env, s, SPRING.local(2027, 4, 21, 10), "record-joint-visit", "cic-sw")
    await act(ts_env, s, SPRING.local(2027, 4, 22, 9), "complete-checklist", "fieldwork-tm")
    await act(ts_env, s, SPRING.local(2027, 4, 22, 10), "initiate", "fieldwork-tm")
    expected = [*to(CIC_ANCHOR, "cic-tm", STARTED),
                *to(CIC_HALF, "fieldwork-tm cic-tm", f"50% of the time gone: {TEN_DAYS}")]
    accepted_at = SPRING.local(2027, 4, 26, 10) if on_time else SPRING.local(2027, 4, 30, 10)
    if not on_time:
        await skip_to(ts_env, CIC_DUE - timedelta(minutes=1))
        expected += to(CIC_EIGHTY, "fieldwork-tm cic-tm", f"80% of the time gone: {TEN_DAYS}")
        await emails(mailbox, directory_engine, view, expected)
        await skip_to(ts_env, CIC_DUE + timedelta(minutes=1))
        expected += to(CIC_DUE, "fieldwork-sm cic-sm", missed(TEN_DAYS))
        await emails(mailbox, directory_engine, view, expected)
        assert (await s.view()).responsible_team == "fieldwork"
    view = await act(ts_env, s, accepted_at, "accept", "cic-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cic")
    assert deadline(view, "transfer_by").status is (
        DeadlineStatus.met if on_time else DeadlineStatus.met_late)
    view = await act(ts_env, s, accepted_at + timedelta(hours=4), "allocate", "cic-tm",
                     worker_id="W1")
    assert view.stage is Stage.closed
    await skip_to(ts_env, SPRING.local(2027, 5, 3, 9))  # past the 80% mark and the due time
    await emails(mailbox, directory_engine, view, [
        *expected,
        *to(accepted_at, "fieldwork-tm", "Children in Care Team Manager's decision: accepted"),
        *to(accepted_at, "fieldwork-tm cic-tm", moved("cic")),
        *to(accepted_at + timedelta(hours=4), "fieldwork-tm", ALLOCATED)])


# ----- MASH -> Early Help / TFS / BIT: allocated within 5 working days ----------------------

MASH = ["mash-to-early-help", "mash-to-tfst", "mash-to-bit"]
ALLOCATION = "Early Help Episode opened and the case allocated within 5 working days"
# Sent Tue 22 Dec 2026: Wed 23, Thu 24, (Christmas Day, weekend, Boxing Day substitute on
# Mon 28), Tue 29, Wed 30, Thu 31 Dec: due 17:00 GMT on Thu 31 Dec 2026.
MASH_SENT, MASH_DUE = XMAS.local(2026, 12, 22, 11), XMAS.utc(2026, 12, 31, 17)


@pytest.mark.parametrize("pathway", MASH)
async def test_mash_step_across_allocated_within_5_working_days(
        ts_env, worker, directory_engine, mailbox, pathway):
    s, view = await opened(ts_env, worker, pathway, MASH_SENT, by="mash-sw")
    team = s.pathway.receiving
    due = deadline(view, "allocated_by")
    assert (due.due_at, due.due_local) == (MASH_DUE, XMAS.label("Thu 31 Dec 2026 17:00 GMT"))
    opened_at, allocated_at = XMAS.local(2026, 12, 23, 10), XMAS.local(2026, 12, 29, 10)
    await act(ts_env, s, opened_at, "complete-checklist", "mash-sw")
    view = await act(ts_env, s, opened_at, "accept", f"{team}-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, team)
    view = await act(ts_env, s, allocated_at, "allocate", f"{team}-tm", worker_id="W1")
    assert view.stage is Stage.closed
    assert deadline(view, "allocated_by").status is DeadlineStatus.met
    await emails(mailbox, directory_engine, view, [
        *to(MASH_SENT, f"{team}-tm", STARTED),
        *to(opened_at, "mash-tm",
            "Receiving Specialist/Manager opens an Early Help Episode: accepted"),
        *to(opened_at, f"mash-tm {team}-tm", moved(team)),
        *to(allocated_at, "mash-tm", ALLOCATED)])


@pytest.mark.parametrize("pathway", MASH)
async def test_mash_step_across_not_allocated_in_time_is_escalated_once(
        ts_env, worker, directory_engine, mailbox, pathway):
    s, view = await opened(ts_env, worker, pathway, MASH_SENT)
    team = s.pathway.receiving
    opened_at = XMAS.local(2026, 12, 23, 10)
    await act(ts_env, s, opened_at, "complete-checklist", "mash-tm")
    await act(ts_env, s, opened_at, "accept", f"{team}-tm")
    expected = [*to(MASH_SENT, f"{team}-tm", STARTED),
                *to(opened_at, "mash-tm",
                    "Receiving Specialist/Manager opens an Early Help Episode: accepted"),
                *to(opened_at, f"mash-tm {team}-tm", moved(team))]
    await skip_to(ts_env, MASH_DUE - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, MASH_DUE + timedelta(minutes=1))
    expected += to(MASH_DUE, f"{team}-tm {team}-sm mash-tm", missed(ALLOCATION))
    await emails(mailbox, directory_engine, view, expected)
    view = await s.view()
    assert (view.stage, view.overdue) == (Stage.transferred, True)
    allocated_at = XMAS.local(2027, 1, 4, 9)
    view = await act(ts_env, s, allocated_at, "allocate", f"{team}-tm", worker_id="W1")
    assert deadline(view, "allocated_by").status is DeadlineStatus.met_late
    expected += to(allocated_at, "mash-tm", ALLOCATED)
    await emails(mailbox, directory_engine, view, expected)


async def test_sibling_group_moves_as_one_transfer(ts_env, worker, directory_engine, mailbox):
    s, view = await opened(ts_env, worker, "mash-to-tfst", MASH_SENT, case_id="F7",
                           children=["C1", "C2", "C3"])
    assert view.children == ["C1", "C2", "C3"]
    assert [d.id for d in view.deadlines] == ["allocated_by"]
    opened_at = XMAS.local(2026, 12, 23, 10)
    await act(ts_env, s, opened_at, "complete-checklist", "mash-tm")
    view = await act(ts_env, s, opened_at, "accept", "tfst-tm")
    assert (view.stage, view.responsible_team, view.children) == (
        Stage.transferred, "tfst", ["C1", "C2", "C3"])
    assert await s.refused("accept", "tfst-tm") == (
        "WrongStage", "Cannot record 'Receiving Specialist/Manager opens an Early Help Episode' "
        "now: the transfer is transferred (allowed when proposed or ready or disputed)")
    view = await act(ts_env, s, XMAS.local(2026, 12, 24, 10), "allocate", "tfst-tm", worker_id="W1")
    kinds = [e.kind for e in events(directory_engine, view.run_id)]
    assert kinds == ["started", "gate:checklist", "gate:episode_opened:accepted", "transferred",
                     "allocated", "closed"]
    await emails(mailbox, directory_engine, view, [
        *to(MASH_SENT, "tfst-tm", STARTED),
        *to(opened_at, "mash-tm",
            "Receiving Specialist/Manager opens an Early Help Episode: accepted"),
        *to(opened_at, "mash-tm tfst-tm", moved("tfst")),
        *to(XMAS.local(2026, 12, 24, 10), "mash-tm", ALLOCATED)])
    for _, message in mailbox.messages:
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes) and b"Case: F7; children: C1, C2, C3" in body


# ----- Duty -> Fieldwork (Child in Need): handover visit 5 wd, CiN planning meeting 10 wd --

CIN = "duty-to-fieldwork-cin"
HANDOVER = "Handover visit within 5 working days of confirmation"
PLANNING = "Child in Need planning meeting within 10 working days of notification"
# Notified and confirmed Wed 24 Mar 2027. Handover: Thu 25, (Good Friday, weekend, Easter
# Monday), Tue 30, Wed 31, Thu 1, Fri 2 Apr: 17:00 BST. Planning meeting: 10th working day
# after Wed 24 Mar is Fri 9 Apr 2027, 17:00 BST.
CIN_NOTIFIED, CIN_CONFIRMED = EASTER.local(2027, 3, 24, 10), EASTER.local(2027, 3, 24, 14)
HANDOVER_DUE, PLANNING_DUE = EASTER.utc(2027, 4, 2, 16), EASTER.utc(2027, 4, 9, 16)


async def cin_confirmed(ts_env, worker) -> tuple[Scenario, TransferView]:
    s, view = await opened(ts_env, worker, CIN, CIN_NOTIFIED)
    assert view.deadlines == []  # the notification is the completed checklist
    view = await act(ts_env, s, None, "complete-checklist", "duty-tm")
    planning = deadline(view, "cin_planning_meeting_by")
    assert (planning.due_at, planning.due_local) == (
        PLANNING_DUE, EASTER.label("Fri 9 Apr 2027 17:00 BST"))
    view = await act(ts_env, s, CIN_CONFIRMED, "accept", "fieldwork-tm")
    handover = deadline(view, "handover_visit_by")
    assert (handover.due_at, handover.due_local) == (
        HANDOVER_DUE, EASTER.label("Fri 2 Apr 2027 17:00 BST"))
    return s, view


CIN_OPENING = [*to(CIN_NOTIFIED, "fieldwork-tm",
                  "Transfer checklist complete (Duty Team Manager)"),  # the notification
               *to(CIN_CONFIRMED, "duty-tm", "Fieldwork Team Manager confirms the transfer: "
                                             "accepted")]


async def test_duty_to_fieldwork_cin_on_time(ts_env, worker, directory_engine, mailbox):
    s, _ = await cin_confirmed(ts_env, worker)
    view = await act(ts_env, s, EASTER.local(2027, 4, 1, 10), "record-cin-planning-meeting",
                     "fieldwork-tm")
    assert view.stage is Stage.proposed
    visited = EASTER.local(2027, 4, 2, 15)
    view = await act(ts_env, s, visited, "record-handover-visit", "duty-sw")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "fieldwork")
    assert {d.id: d.status for d in view.deadlines} == {
        "cin_planning_meeting_by": DeadlineStatus.met, "handover_visit_by": DeadlineStatus.met}
    view = await act(ts_env, s, EASTER.local(2027, 4, 2, 16), "allocate", "fieldwork-tm",
                     worker_id="W1")
    await skip_to(ts_env, PLANNING_DUE + timedelta(days=1))
    await emails(mailbox, directory_engine, view, [
        *CIN_OPENING, *to(visited, "duty-tm fieldwork-tm", moved("fieldwork")),
        *to(EASTER.local(2027, 4, 2, 16), "duty-tm", ALLOCATED)])


async def test_duty_to_fieldwork_cin_late_visit_and_no_planning_meeting(
        ts_env, worker, directory_engine, mailbox):
    s, view = await cin_confirmed(ts_env, worker)
    await skip_to(ts_env, HANDOVER_DUE - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, CIN_OPENING)
    await skip_to(ts_env, HANDOVER_DUE + timedelta(minutes=1))
    expected = [*CIN_OPENING, *to(HANDOVER_DUE, "duty-tm fieldwork-tm", missed(HANDOVER))]
    await emails(mailbox, directory_engine, view, expected)
    visited = EASTER.local(2027, 4, 5, 10)
    view = await act(ts_env, s, visited, "record-handover-visit", "duty-sw")
    assert view.responsible_team == "fieldwork"
    assert deadline(view, "handover_visit_by").status is DeadlineStatus.met_late
    expected += to(visited, "duty-tm fieldwork-tm", moved("fieldwork"))
    await skip_to(ts_env, PLANNING_DUE - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, PLANNING_DUE + timedelta(minutes=1))
    expected += to(PLANNING_DUE, "fieldwork-tm fieldwork-sm", missed(PLANNING))
    await emails(mailbox, directory_engine, view, expected)


async def visited_and_allocated(ts_env, worker) -> tuple[Scenario, TransferView, list[Email]]:
    """The handover visit moves the case on Thu 25 Mar; the planning meeting is still to come."""
    s, _ = await cin_confirmed(ts_env, worker)
    visited, allocated = EASTER.local(2027, 3, 25, 10), EASTER.local(2027, 3, 25, 11)
    await act(ts_env, s, visited, "record-handover-visit", "duty-sw")
    view = await act(ts_env, s, allocated, "allocate", "fieldwork-tm", worker_id="W1")
    assert view.stage is Stage.allocated  # not closed: the planning meeting clock still runs
    return s, view, [*CIN_OPENING, *to(visited, "duty-tm fieldwork-tm", moved("fieldwork")),
                     *to(allocated, "duty-tm", ALLOCATED)]


async def test_cin_planning_meeting_recorded_after_the_transfer(
        ts_env, worker, directory_engine, mailbox):
    s, view, expected = await visited_and_allocated(ts_env, worker)
    view = await act(ts_env, s, EASTER.local(2027, 4, 6, 10), "record-cin-planning-meeting",
                     "fieldwork-tm")
    assert deadline(view, "cin_planning_meeting_by").status is DeadlineStatus.met
    assert view.stage is Stage.closed
    await emails(mailbox, directory_engine, view, expected)


async def test_cin_planning_meeting_missed_after_the_allocation_is_reported(
        ts_env, worker, directory_engine, mailbox):
    s, view, expected = await visited_and_allocated(ts_env, worker)
    await skip_to(ts_env, PLANNING_DUE - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, PLANNING_DUE + timedelta(minutes=1))
    expected += to(PLANNING_DUE, "fieldwork-tm fieldwork-sm", missed(PLANNING))
    await emails(mailbox, directory_engine, view, expected)
    assert s.handle is not None
    result = await s.handle.result()
    assert result.stage is Stage.closed
    assert deadline(result, "cin_planning_meeting_by").status is DeadlineStatus.missed


# ----- Duty -> Fieldwork (Child Protection): transfer within 48 h of the checklist --------

CP_TRANSFER = "Transfer within 48 hours of the transfer checklist being complete"
# Checklist complete Fri 26 Mar 2027 16:00 GMT; 48 elapsed hours later is 16:00 UTC on Sun
# 28 Mar, which is 17:00 BST after the clocks went forward.
CP_NOTICE, CP_ICPC, CP_CHECKLIST = EASTER.local(2027, 3, 22, 10), EASTER.local(2027, 3, 25, 11), \
    EASTER.local(2027, 3, 26, 16)
CP_DUE = EASTER.utc(2027, 3, 28, 16)


async def cp_checklist_done(ts_env, worker) -> tuple[Scenario, TransferView]:
    s, view = await opened(ts_env, worker, "duty-to-fieldwork-cp", CP_NOTICE)
    assert view.deadlines == []  # the clock starts with the checklist
    refusal = await s.refused("record-icpc", "duty-tm", attendees=["duty_social_worker"])
    assert refusal == ("InvalidInput", "Initial Child Protection Conference held, attended by "
                                       "the Fieldwork team counts only with "
                                       "fieldwork_team_member attending")
    await act(ts_env, s, CP_ICPC, "record-icpc", "duty-tm",
              attendees=["fieldwork_team_member", "duty_social_worker"])
    refusal = await s.refused("complete-checklist", "duty-tm", items=["chronology_updated"])
    assert refusal[0] == "InvalidInput" and "icpc_outcome_and_recommendations_recorded" \
        in refusal[1]
    view = await act(ts_env, s, CP_CHECKLIST, "complete-checklist", "duty-tm")
    by = deadline(view, "transfer_by")
    assert (minute(by.due_at), by.due_local) == (CP_DUE, EASTER.label("Sun 28 Mar 2027 17:00 BST"))
    return s, view


async def test_duty_to_fieldwork_cp_within_48_hours(ts_env, worker, directory_engine, mailbox):
    s, _ = await cp_checklist_done(ts_env, worker)
    accepted = EASTER.local(2027, 3, 27, 10)
    view = await act(ts_env, s, accepted, "accept", "fieldwork-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "fieldwork")
    assert deadline(view, "transfer_by").status is DeadlineStatus.met
    view = await act(ts_env, s, EASTER.local(2027, 3, 29, 10), "allocate", "fieldwork-tm",
                     worker_id="W1")
    await emails(mailbox, directory_engine, view, [
        *to(CP_NOTICE, "fieldwork-tm", STARTED),
        *to(accepted, "duty-tm", "Fieldwork Team Manager's decision: accepted"),
        *to(accepted, "duty-tm fieldwork-tm", moved("fieldwork")),
        *to(EASTER.local(2027, 3, 29, 10), "duty-tm", ALLOCATED)])


async def test_duty_to_fieldwork_cp_not_transferred_in_48_hours(
        ts_env, worker, directory_engine, mailbox):
    s, view = await cp_checklist_done(ts_env, worker)
    expected = to(CP_NOTICE, "fieldwork-tm", STARTED)
    await skip_to(ts_env, CP_DUE - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, CP_DUE + timedelta(minutes=1))
    expected += to(CP_DUE, "duty-tm fieldwork-tm duty-sm fieldwork-sm", missed(CP_TRANSFER))
    await emails(mailbox, directory_engine, view, expected)
    assert (await s.view()).responsible_team == "duty"
    accepted = EASTER.local(2027, 3, 29, 9)
    view = await act(ts_env, s, accepted, "accept", "fieldwork-tm")
    assert deadline(view, "transfer_by").status is DeadlineStatus.met_late
    expected += [*to(accepted, "duty-tm", "Fieldwork Team Manager's decision: accepted"),
                 *to(accepted, "duty-tm fieldwork-tm", moved("fieldwork"))]
    await emails(mailbox, directory_engine, view, expected)


# ----- Duty -> Fieldwork (child in care) and UASC -> Children in Care: 48 h to review ------

REVIEW = "Receiving Team Manager reviews the case within 48 hours"
# Notified (the checklist complete) Fri 30 Apr 2027 12:00 BST: half time Sat 1 May 12:00 BST,
# due Sun 2 May 12:00 BST.
CIC_NOTICE, REVIEW_WARN, REVIEW_DUE = SPRING.local(2027, 4, 30, 12), SPRING.utc(2027, 5, 1, 11), \
    SPRING.utc(2027, 5, 2, 11)
IN_CARE = [("duty-to-fieldwork-cic", "fieldwork"), ("duty-to-cic-uasc", "cic")]
NOTIFIED = "Transfer checklist complete (Duty Manager)"


async def in_care_notified(ts_env, worker, pathway) -> tuple[Scenario, TransferView]:
    s, view = await opened(ts_env, worker, pathway, CIC_NOTICE)
    view = await walk(ts_env, s, None, [("record-assessment-and-review", "duty-tm"),
                                        ("complete-checklist", "duty-tm")])
    due = deadline(view, "review_due")  # from the checklist, moments after the start
    assert (minute(due.due_at), due.due_local, [minute(w) for w in due.warn_at]) == (
        REVIEW_DUE, SPRING.label("Sun 2 May 2027 12:00 BST"), [REVIEW_WARN])
    return s, view


@pytest.mark.parametrize(("pathway", "team"), IN_CARE)
async def test_child_in_care_reviewed_within_48_hours(
        ts_env, worker, directory_engine, mailbox, pathway, team):
    s, _ = await in_care_notified(ts_env, worker, pathway)
    view = await act(ts_env, s, SPRING.local(2027, 4, 30, 15), "review-case", f"{team}-tm")
    assert deadline(view, "review_due").status is DeadlineStatus.met
    accepted = SPRING.local(2027, 5, 4, 10)  # after the May Day bank holiday
    view = await act(ts_env, s, accepted, "accept", f"{team}-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, team)
    await skip_to(ts_env, REVIEW_DUE + timedelta(days=3))
    await emails(mailbox, directory_engine, view, [
        *to(CIC_NOTICE, f"{team}-tm", NOTIFIED),
        *to(accepted, "duty-tm", "Receiving Team Manager's decision: accepted"),
        *to(accepted, f"duty-tm {team}-tm", moved(team))])


@pytest.mark.parametrize(("pathway", "team"), IN_CARE)
async def test_child_in_care_not_reviewed_in_48_hours(
        ts_env, worker, directory_engine, mailbox, pathway, team):
    s, view = await in_care_notified(ts_env, worker, pathway)
    assert await s.refused("accept", f"{team}-tm") == (
        "WrongStage", "Receiving Team Manager's decision can be recorded only after: "
                      "Receiving Team Manager has reviewed the case")
    expected = to(CIC_NOTICE, f"{team}-tm", NOTIFIED)
    await skip_to(ts_env, REVIEW_WARN + timedelta(minutes=1))
    expected += to(REVIEW_WARN, f"{team}-tm", f"50% of the time gone: {REVIEW}")
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, REVIEW_DUE - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, REVIEW_DUE + timedelta(minutes=1))
    expected += to(REVIEW_DUE, f"{team}-tm {team}-sm duty-tm", missed(REVIEW))
    await emails(mailbox, directory_engine, view, expected)
    view = await act(ts_env, s, SPRING.local(2027, 5, 4, 9), "review-case", f"{team}-tm")
    assert deadline(view, "review_due").status is DeadlineStatus.met_late
    assert view.responsible_team == "duty"


# ----- co-working for up to three weeks (Fieldwork / TFST / Early Help) -------------------

CO_WORKING = "Co-working for up to three weeks"
# (pathway, steps that start the clock, steps that end it). The clock starts on Mon 19 Apr
# 2027: three weeks later is Mon 10 May 2027, due 17:00 BST.
CO_WORKING_CASES = [
    ("fieldwork-to-tfst", [], STEPS["fieldwork-to-tfst"]),
    ("fieldwork-to-early-help", [], STEPS["fieldwork-to-early-help"]),
    ("tfst-to-early-help", STEPS["tfst-to-early-help"][:2], STEPS["tfst-to-early-help"][2:]),
    ("early-help-to-tfst", STEPS["early-help-to-tfst"][:4], STEPS["early-help-to-tfst"][4:]),
    ("tfst-to-fieldwork", STEPS["tfst-to-fieldwork"][:3], STEPS["tfst-to-fieldwork"][3:]),
    ("early-help-to-fieldwork", STEPS["early-help-to-fieldwork"][:3],
     STEPS["early-help-to-fieldwork"][3:]),
]
CO_START, CO_DUE = SPRING.local(2027, 4, 19, 10), SPRING.utc(2027, 5, 10, 16)
EXTENDED_TO = SPRING.day(2027, 5, 28).isoformat()  # Fri 28 May 2027
SPRING_BANK_HOLIDAY = SPRING.day(2027, 5, 31)


async def co_working(ts_env, worker, pathway, start_steps) -> tuple[Scenario, TransferView]:
    s, view = await opened(ts_env, worker, pathway, CO_START)
    view = await walk(ts_env, s, None, start_steps)
    due = deadline(view, "co_working")
    assert (due.due_at, due.due_local) == (CO_DUE, SPRING.label("Mon 10 May 2027 17:00 BST"))
    return s, view


@pytest.mark.parametrize(("pathway", "start_steps", "end_steps"), CO_WORKING_CASES)
async def test_co_working_ends_with_the_transfer_within_three_weeks(
        ts_env, worker, directory_engine, mailbox, pathway, start_steps, end_steps):
    s, view = await co_working(ts_env, worker, pathway, start_steps)
    done = SPRING.local(2027, 5, 5, 10)
    view = await walk(ts_env, s, done, end_steps)
    assert (view.stage, view.responsible_team) == (Stage.transferred, s.pathway.receiving)
    assert deadline(view, "co_working").status is DeadlineStatus.met
    await skip_to(ts_env, CO_DUE + timedelta(days=1))
    sending, receiving = s.pathway.sending, s.pathway.receiving
    await emails(mailbox, directory_engine, view, [
        *to(CO_START, f"{receiving}-tm", STARTED), *acceptance(s, CO_START, start_steps),
        *acceptance(s, done, end_steps, done=start_steps),
        *to(done, f"{sending}-tm {receiving}-tm", moved(receiving))])


@pytest.mark.parametrize(("pathway", "start_steps", "end_steps"), CO_WORKING_CASES)
async def test_co_working_overrunning_three_weeks_is_reported_once(
        ts_env, worker, directory_engine, mailbox, pathway, start_steps, end_steps):
    s, view = await co_working(ts_env, worker, pathway, start_steps)
    sending, receiving = s.pathway.sending, s.pathway.receiving
    expected = to(CO_START, f"{receiving}-tm", STARTED) + acceptance(s, CO_START, start_steps)
    await skip_to(ts_env, CO_DUE - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, CO_DUE + timedelta(minutes=1))
    expected += to(CO_DUE, f"{sending}-tm {receiving}-tm", missed(CO_WORKING))
    await emails(mailbox, directory_engine, view, expected)
    assert (await s.view()).responsible_team == sending
    done = SPRING.local(2027, 5, 12, 10)
    view = await walk(ts_env, s, done, end_steps)
    assert deadline(view, "co_working").status is DeadlineStatus.met_late
    expected += [*acceptance(s, done, end_steps, done=start_steps),
                 *to(done, f"{sending}-tm {receiving}-tm", moved(receiving))]
    await emails(mailbox, directory_engine, view, expected)


async def test_co_working_extended_by_agreement_with_a_reason(
        ts_env, worker, directory_engine, mailbox):
    s, view = await co_working(ts_env, worker, "fieldwork-to-tfst", [])
    await skip_to(ts_env, SPRING.local(2027, 5, 7, 10))
    extend = {"deadline": "co_working"}
    for who, body, kind, words in [
        ("fieldwork-sw", {"note": "x"}, "NotPermitted", "Only the Team Manager of fieldwork or "
                                                        "Team Manager of tfst may extend"),
        ("fieldwork-sm", {"note": "x"}, "NotPermitted", "Only the Team Manager"),
        ("tfst-tm", {}, "InvalidInput", "Say why in 'note' to extend a deadline"),
        ("tfst-tm", {"note": "x"}, "InvalidInput", "Give the new due date in 'until'"),
        # Mon 31 May 2027 is the Spring bank holiday.
        ("tfst-tm", {"note": "x", "until": SPRING_BANK_HOLIDAY.isoformat()}, "InvalidInput",
         f"{SPRING_BANK_HOLIDAY:%A %d %B %Y} is not a working day"),
    ]:
        refusal = await s.refused("extend-deadline", who, **extend, **body)
        assert refusal[0] == kind and words in refusal[1], refusal
    # "with the agreement of" both managers: the first offer waits for the other's.
    view = await s.act("extend-deadline", "tfst-tm", deadline="co_working", until=EXTENDED_TO,
                       note="Assessment needs another fortnight")
    assert deadline(view, "co_working").due_at == CO_DUE
    view = await s.act("extend-deadline", "fieldwork-tm", deadline="co_working",
                       until=EXTENDED_TO, note="Fieldwork agrees")
    due = deadline(view, "co_working")
    assert (due.due_at, due.due_local, due.extended) == (
        SPRING.utc(2027, 5, 28, 16), SPRING.label("Fri 28 May 2027 17:00 BST"), True)
    trail = events(directory_engine, view.run_id)
    assert [e.kind for e in trail] == ["started", "deadline_extension_proposed",
                                       "deadline_extend"]
    extended = trail[-1]
    assert (extended.actor_id, extended.actor_role, extended.actor_team) == (
        "nottingham-fieldwork-tm", "team_manager", "fieldwork")
    assert extended.note_ref is not None
    assert extended.summary == (
        f"Co-working for up to three weeks: extended to {SPRING.label('Fri 28 May 2027 17:00 BST')}"
        " by nottingham-fieldwork-tm (Team Manager, fieldwork)")
    assert minute(extended.at) == minute(SPRING.local(2027, 5, 7, 10))
    proposed = "extension proposed: Co-working for up to three weeks"
    expected = to(CO_START, "tfst-tm", STARTED) + to(SPRING.local(2027, 5, 7, 10),
                                                     "fieldwork-tm", proposed)
    # 10 May passed quietly:
    await skip_to(ts_env, SPRING.utc(2027, 5, 28, 16) - timedelta(minutes=1))
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, SPRING.utc(2027, 5, 28, 16) + timedelta(minutes=1))
    expected += to(SPRING.utc(2027, 5, 28, 16), "fieldwork-tm tfst-tm", missed(CO_WORKING))
    await emails(mailbox, directory_engine, view, expected)


async def test_co_working_extension_needs_both_managers(ts_env, worker):
    s, _ = await co_working(ts_env, worker, "fieldwork-to-tfst", [])
    view = await s.act("extend-deadline", "fieldwork-tm", deadline="co_working",
                       until=EXTENDED_TO, note="Fieldwork asks for two more weeks")
    assert deadline(view, "co_working").due_at == CO_DUE  # waits for the TFST manager
    view = await s.act("extend-deadline", "tfst-tm", deadline="co_working",
                       until=EXTENDED_TO, note="TFST agrees")
    assert deadline(view, "co_working").due_at == SPRING.utc(2027, 5, 28, 16)


async def test_co_working_paused_and_resumed(ts_env, worker, directory_engine, mailbox):
    s, view = await co_working(ts_env, worker, "fieldwork-to-early-help", [])
    await skip_to(ts_env, SPRING.local(2027, 4, 27, 10))
    assert await s.refused("pause-deadline", "fieldwork-tm", deadline="co_working") == (
        "InvalidInput", "Say why in 'note' to pause a deadline")
    refusal = await s.refused("pause-deadline", "early_help-sw", deadline="co_working",
                              note="x")
    assert refusal[0] == "NotPermitted"
    view = await s.act("pause-deadline", "early_help-tm", deadline="co_working",
                       note="Family away for three days")
    assert deadline(view, "co_working").paused_at is not None and view.next_deadline is None
    # 72 hours (and a second, so the milliseconds an action takes cannot make it 16:59) later
    await skip_to(ts_env, SPRING.local(2027, 4, 30, 10) + timedelta(seconds=1))
    assert (await s.refused("resume-deadline", "fieldwork-sw", deadline="co_working",
                            note="x"))[0] == "NotPermitted"
    view = await s.act("resume-deadline", "fieldwork-tm", deadline="co_working",
                       note="Family back home")
    due = deadline(view, "co_working")
    assert (minute(due.due_at), due.due_local, due.paused_at) == (
        SPRING.utc(2027, 5, 13, 16), SPRING.label("Thu 13 May 2027 17:00 BST"), None)
    trail = events(directory_engine, view.run_id)
    assert [(e.kind, e.actor_id) for e in trail] == [
        ("started", "nottingham-fieldwork-tm"), ("deadline_pause", "nottingham-early_help-tm"),
        ("deadline_resume", "nottingham-fieldwork-tm")]
    assert f"clock resumed after 3 days; now due {SPRING.label('Thu 13 May 2027 17:00 BST')}" \
        in trail[-1].summary
    expected = to(CO_START, "early_help-tm", STARTED)
    await skip_to(ts_env, CO_DUE + timedelta(minutes=1))  # the original due time: no breach
    await emails(mailbox, directory_engine, view, expected)
    await skip_to(ts_env, SPRING.utc(2027, 5, 13, 16) + timedelta(minutes=1))
    expected += to(SPRING.utc(2027, 5, 13, 16), "fieldwork-tm early_help-tm", missed(CO_WORKING))
    await emails(mailbox, directory_engine, view, expected)


# ----- Children in Care -> Child in Need / TFS: 6 weeks involved, on call for 12 ------------

STEP_DOWN = ["cic-to-fieldwork", "cic-to-tfst"]
SIX_WEEKS = "Children in Care social worker stays involved for 6 weeks"
RESUME = "Concerns escalated, the Children in Care social worker resumes an active role"
# Transferred Wed 21 Apr 2027 11:00 BST: 6 weeks end Wed 2 Jun, 12 weeks Wed 14 Jul, 17:00 BST.
STEP_DOWN_AT, SIX_WEEKS_END, TWELVE_WEEKS_END = WEEKS.local(2027, 4, 21, 11), \
    WEEKS.utc(2027, 6, 2, 16), WEEKS.utc(2027, 7, 14, 16)


async def stepped_down(ts_env, worker, pathway) -> tuple[Scenario, TransferView, list[Email]]:
    s, view = await opened(ts_env, worker, pathway, WEEKS.local(2027, 4, 12, 10))
    team = s.pathway.receiving
    steps = STEPS[pathway]
    for when, step in zip([WEEKS.local(2027, 4, 12, 10), WEEKS.local(2027, 4, 13, 10),
                           WEEKS.local(2027, 4, 14, 10), WEEKS.local(2027, 4, 14, 14),
                           WEEKS.local(2027, 4, 14, 15)], steps[:-1], strict=True):
        await act(ts_env, s, when, *step)
    assert await s.refused("concerns-escalated", f"{team}-sw") == (
        "WrongStage", "'concerns-escalated' applies only after the transfer (the transfer is "
                      "proposed)")
    view = await act(ts_env, s, STEP_DOWN_AT, *steps[-1])
    assert (view.stage, view.responsible_team) == (Stage.transferred, team)
    periods = {d.id: (d.due_at, d.due_local) for d in view.deadlines if d.kind == "period"}
    assert periods == {
        "cic_involvement": (SIX_WEEKS_END, WEEKS.label("Wed 2 Jun 2027 17:00 BST")),
        "concerns_window": (TWELVE_WEEKS_END, WEEKS.label("Wed 14 Jul 2027 17:00 BST"))}
    return s, view, [*to(WEEKS.local(2027, 4, 12, 10), f"{team}-tm", STARTED),
                     *to(STEP_DOWN_AT, "cic-tm", "Receiving Team Manager's decision: accepted"),
                     *to(STEP_DOWN_AT, f"cic-tm {team}-tm", moved(team))]


@pytest.mark.parametrize("pathway", STEP_DOWN)
async def test_cic_worker_resumes_when_concerns_escalate_within_12_weeks(
        ts_env, worker, directory_engine, mailbox, pathway):
    s, view, expected = await stepped_down(ts_env, worker, pathway)
    team = s.pathway.receiving
    allocated = WEEKS.local(2027, 4, 22, 10)
    view = await act(ts_env, s, allocated, "allocate", f"{team}-tm", worker_id="W1")
    expected += to(allocated, "cic-tm", ALLOCATED)
    await skip_to(ts_env, SIX_WEEKS_END + timedelta(minutes=1))
    expected += to(SIX_WEEKS_END, f"cic-sw cic-tm {team}-tm", f"ended: {SIX_WEEKS}")
    await emails(mailbox, directory_engine, view, expected)
    assert (await s.refused("concerns-escalated", "cic-tm"))[0] == "NotPermitted"
    escalated = WEEKS.local(2027, 6, 21, 10)  # week 9: after the 6 weeks, before the 12
    view = await act(ts_env, s, escalated, "concerns-escalated", f"{team}-sw",
                     note="Police called to the home")
    expected += to(escalated, "cic-sw cic-tm", RESUME)
    await emails(mailbox, directory_engine, view, expected)
    reopened = [e for e in events(directory_engine, view.run_id)
                if e.kind == "reopened:concerns_window"]
    assert len(reopened) == 1 and reopened[0].actor_id == f"nottingham-{team}-sw"
    await skip_to(ts_env, TWELVE_WEEKS_END + timedelta(minutes=1))
    result = await s.handle.result() if s.handle else None
    assert result is not None and result.stage is Stage.closed
    with pytest.raises(RPCError) as closed:  # the transfer is closed: the API answers 409
        await s.act("concerns-escalated", f"{team}-sw", note="Too late")
    assert closed.value.status is RPCStatusCode.NOT_FOUND
    await emails(mailbox, directory_engine, view, expected)


@pytest.mark.parametrize("pathway", STEP_DOWN)
async def test_cic_worker_cannot_be_called_back_after_12_weeks(
        ts_env, worker, directory_engine, mailbox, pathway):
    s, view, expected = await stepped_down(ts_env, worker, pathway)
    team = s.pathway.receiving
    await skip_to(ts_env, TWELVE_WEEKS_END - timedelta(minutes=1))
    assert deadline(await s.view(), "concerns_window").status is DeadlineStatus.pending
    await skip_to(ts_env, TWELVE_WEEKS_END + timedelta(minutes=1))
    expected += to(SIX_WEEKS_END, f"cic-sw cic-tm {team}-tm", f"ended: {SIX_WEEKS}")
    await emails(mailbox, directory_engine, view, expected)
    assert await s.refused("concerns-escalated", f"{team}-tm", note="x") == (
        "WrongStage", "Children in Care social worker on call for 12 weeks has ended "
                      f"({WEEKS.label('Wed 14 Jul 2027 17:00 BST')})")
    await emails(mailbox, directory_engine, view, expected)


# ----- Fieldwork -> Permanency (adoption): the matching meeting in the first two months ----

async def test_adoption_transfer_and_matching_meeting_within_two_months(
        ts_env, worker, directory_engine, mailbox):
    anchor = ADOPTION.local(2027, 4, 27, 10)  # Care and Placement Orders made
    s, _ = await opened(ts_env, worker, "fieldwork-to-permanency-adoption", anchor)
    assert (await s.refused("record-joint-visit", "fieldwork-sw"))[0] == "NotPermitted"
    steps = STEPS["fieldwork-to-permanency-adoption"]
    await walk(ts_env, s, ADOPTION.local(2027, 4, 29, 10), steps[:-1])
    accepted = ADOPTION.local(2027, 5, 4, 10)  # the day after the May Day bank holiday
    view = await act(ts_env, s, accepted, *steps[-1])
    window = deadline(view, "matching_window")
    # Two calendar months after Tue 4 May 2027: Sun 4 Jul 2027, 17:00 BST.
    assert (window.due_at, window.due_local) == (ADOPTION.utc(2027, 7, 4, 16),
                                                 ADOPTION.label("Sun 4 Jul 2027 17:00 BST"))
    view = await act(ts_env, s, ADOPTION.local(2027, 5, 4, 14), "allocate", "permanency-tm",
                     worker_id="W1")
    found = ADOPTION.local(2027, 6, 28, 10)
    view = await act(ts_env, s, found, "adoptive-family-found", "permanency-tm",
                     note="Matching panel booked")
    await skip_to(ts_env, ADOPTION.utc(2027, 7, 4, 16) + timedelta(minutes=1))
    assert s.handle is not None and (await s.handle.result()).stage is Stage.closed
    await emails(mailbox, directory_engine, view, [
        *to(anchor, "permanency-tm", STARTED),
        *to(accepted, "fieldwork-tm", "Permanency Team Manager's decision: accepted"),
        *to(accepted, "fieldwork-tm permanency-tm", moved("permanency")),
        *to(ADOPTION.local(2027, 5, 4, 14), "fieldwork-tm", ALLOCATED),
        *to(found, "fieldwork-sw fieldwork-tm", "Adoptive family found, the Fieldwork social "
                                                "worker to attend the matching meeting")])


# ----- who may do what: refusals say why and leave no trace -------------------------------

@pytest.mark.parametrize(("pathway", "before", "action", "who", "body", "kind", "words"), [
    ("fieldwork-to-cic", STEPS["fieldwork-to-cic"][:5], "accept", "fieldwork-tm", {},
     "NotPermitted", "Only the Team Manager of cic may record"),
    ("permanency-to-cic", [], "ratify-plan", "cic-tm", {}, "NotPermitted",
     "Only the IRO (any team) may record"),
    ("duty-to-fieldwork-cin", [], "accept", "fieldwork-tm", {}, "WrongStage",
     "can be recorded only after: Transfer checklist complete (Duty Team Manager)"),
    ("tfst-to-fieldwork", [], "record-joint-visit", "tfst-sw", {}, "WrongStage",
     "can be recorded only after: Whether the discussion identified safeguarding concerns; "
     "Period of co-working agreed"),
    ("cic-to-leaving-care", [], "initiate", "cic-tm", {}, "WrongStage",
     "can be recorded only after: Transfer checklist complete; Statutory CiC Review"),
    ("mash-to-tfst", [], "allocate", "tfst-tm", {"worker_id": "W1"}, "WrongStage",
     "Cannot allocate a worker now: the transfer is proposed"),
    ("cic-to-tfst", [], "withdraw", "tfst-tm", {}, "NotPermitted",
     "Only the Team Manager of cic may withdraw"),
    ("fieldwork-to-cic", [], "extend-deadline", "cic-tm",
     {"deadline": "response_due", "note": "x"}, "WrongStage", "cannot be extended or paused"),
])
async def test_refusals_say_why_and_leave_no_trace(
        ts_env, worker, directory_engine, pathway, before, action, who, body, kind, words):
    s, view = await opened(ts_env, worker, pathway, await ts_env.get_current_time())
    await walk(ts_env, s, None, before)
    count = len(events(directory_engine, view.run_id))
    refusal = await s.refused(action, who, **body)
    assert refusal[0] == kind and words in refusal[1], refusal
    assert len(events(directory_engine, view.run_id)) == count
