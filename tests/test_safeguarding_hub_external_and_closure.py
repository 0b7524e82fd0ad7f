"""Seed 003 (the Safeguarding Hub authority): CAFCASS, and an adopted child's case closing.

"If the case is not open and there has been active casework within the previous month of a
request for a Section 7 Report then this should transfer to the team who last had the
involvement, otherwise such reports are compiled by CAFCASS in accordance with national
protocol." Without such casework the Hub sends the request to CAFCASS, an organisation
outside the council, emailed at the address external-addresses.yaml gives it
(private-law@cafcass.example); nobody here allocates the report.

"When A looked after child is to be adopted and the case closes to the responsible team, but
there is a need for post adoption support from the Adoption Support team, a representative
of the Adoption Support Team must contribute to the adoption support plan and also attend
the final CLA Review." A closure (no receiving team, no allocation) of the CLA, Support and
Protection or CWD team's case, once the adoption order is made.

Every date is worked out from the time-skipping server's present (tests/seed_scenes.py), so
the tests hold on any day the suite runs: the next Christmas on a Friday (as in 2026) and the
next Easter on 28 March (as in 2027). Working days are counted by hand in the comments.
Timers are crossed by moving the server's clock, never by sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from models.transfer import DeadlineStatus, Stage, TransferView
from tests import scenario
from tests.scenario import PROTOCOLS, Scenario, deadline, settled, status
from tests.seed_scenes import at, christmas_on_friday, easter_on_march_28, utc
from tests.transfers import events, eventually, outbox, skip_to

A = "safeguarding_hub"
PROTOCOL = PROTOCOLS[A]
CAFCASS = "private-law@cafcass.example"
S7 = "hub-to-cafcass-section-7"
CLOSURES = {"cla-adoption-closure": "cla", "s-and-p-adoption-closure": "s_and_p",
            "cwd-adoption-closure": "cwd"}

STARTED = "transfer proposed to your team"
CLOSED = "case closed"
TO_CAFCASS = "case transferred to cafcass"
MINUTE = timedelta(minutes=1)


async def expect_mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await scenario.expect_mail(mailbox, A, expected)


def cafcass_mail(mailbox: Any) -> list[str]:
    return sorted(re.sub(r"^\[safeguarding_hub\] Case C1: ", "", s)
                  for s in mailbox.subjects(CAFCASS))


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime,
                 by: str) -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, A, pathway)
    return s, await s.open(anchor, by=by)


def missed(name: str) -> Callable[[TransferView], bool]:
    return lambda view: status(view, name) is DeadlineStatus.missed


def title(pathway: str, name: str) -> str:
    return PROTOCOL.pathways[pathway].deadlines[name].title


def gate_title(pathway: str, name: str) -> str:
    return PROTOCOL.pathways[pathway].gates[name].title


# ----- the protocol file --------------------------------------------------------------------


def test_cafcass_is_outside_the_council_and_the_closures_have_no_receiving_team() -> None:
    assert PROTOCOL.externals["cafcass"].title == "CAFCASS"
    s7 = PROTOCOL.pathways[S7]
    assert (s7.sending, s7.receiving, s7.leaves) == ("hub", "cafcass", True)
    assert s7.allocation is None and s7.raise_dispute is None
    assert s7.anchor.name == "s7_request_received"  # the same request as the team routes
    assert s7.transfer.requires == ["rag_rated", "no_recent_casework", "sent"]
    assert [str(r) for r in s7.notify.transferred] == ["team_manager@from", "contact@cafcass"]
    assert s7.notify.started == [] and s7.notify.withdrawn == []
    assert str(s7.deadlines["sent_by"].within) == "3 days"
    for name, team in CLOSURES.items():
        closure = PROTOCOL.pathways[name]
        assert closure.closes and not closure.moves
        assert (closure.sending, closure.receiving) == (team, team)
        assert closure.allocation is None and closure.raise_dispute is None
        assert closure.gates == PROTOCOL.pathways["cla-adoption-closure"].gates
        assert closure.deadlines["closed_by"].start == "adoption_order"
        assert str(closure.deadlines["closed_by"].within) == "10 working days"


# ----- Section 7 to CAFCASS -------------------------------------------------------------------


async def test_a_section_7_request_without_recent_casework_goes_to_cafcass_over_easter(
        ts_env, worker, mailbox, directory_engine):
    # Easter Saturday, 27 March 10:00 GMT. The clocks go forward at 01:00 UTC on Sunday: 24
    # elapsed hours later is 11:00 BST on Sunday. 3 calendar days: Tuesday 30 March (Easter
    # Monday is closed, but the day counts), 17:00 BST.
    year = easter_on_march_28(await ts_env.get_current_time())
    saturday = date(year, 3, 27)
    s, view = await opened(ts_env, worker, S7, at(saturday, 10), by="hub-sw")
    assert (view.from_team, view.to_team) == ("hub", "cafcass")
    assert deadline(view, "rag_by").due_at == utc(saturday + timedelta(days=1), 10)
    tuesday = saturday + timedelta(days=3)
    assert deadline(view, "sent_by").due_at == at(tuesday, 17)
    await skip_to(ts_env, at(saturday, 10, 30))
    await s.act("record-rag-rating", "hub-sw")
    kind, words = await s.refused("send-to-cafcass", "hub-tm")
    assert kind == "WrongStage" and gate_title(S7, "no_recent_casework") in words
    kind, _ = await s.refused("confirm-no-recent-casework", "s_and_p-tm")
    assert kind == "NotPermitted"  # the Hub checks the case's history
    view = await s.act("confirm-no-recent-casework", "hub-sw")
    assert view.stage is Stage.proposed
    kind, _ = await s.refused("send-to-cafcass", "hub-sw")
    assert kind == "NotPermitted"  # the Hub's Team Manager sends
    await skip_to(ts_env, at(tuesday, 16, 30))
    view = await s.act("send-to-cafcass", "hub-tm")
    # Nothing left to run: nobody here allocates CAFCASS's report.
    assert (view.stage, view.responsible_team) == (Stage.closed, "cafcass")
    assert view.allocated_worker is None
    assert {d.id: d.status for d in view.deadlines} == {
        "rag_by": DeadlineStatus.met, "sent_by": DeadlineStatus.met}
    assert [e.kind for e in events(directory_engine, view.run_id)][-2:] == [
        "transferred", "closed"]
    # CAFCASS once, at its configured address, as an organisation (not a member of staff).
    await eventually(lambda: cafcass_mail(mailbox), [TO_CAFCASS].__eq__)
    rows = [r for r in outbox(directory_engine, view.run_id) if r.email == CAFCASS]
    assert [(r.recipient_id, r.recipient_role) for r in rows] == [
        ("external:cafcass", "contact")]
    await expect_mail(mailbox, {"hub-tm": [TO_CAFCASS]})


async def test_a_request_not_sent_to_cafcass_in_3_days_over_christmas_tells_the_hub(
        ts_env, worker, mailbox):
    # Wednesday 23 December 15:00 GMT, Christmas on the Friday: RAG rating due 24 elapsed
    # hours later (Christmas Eve 15:00); sent in 3 calendar days, Saturday 26 December 17:00
    # GMT (closed days count: the clock is in days, not working days).
    year = christmas_on_friday(await ts_env.get_current_time())
    wednesday = date(year, 12, 23)
    s, view = await opened(ts_env, worker, S7, at(wednesday, 15), by="hub-sw")
    sent_due = at(date(year, 12, 26), 17)
    assert deadline(view, "rag_by").due_at == at(date(year, 12, 24), 15)
    assert deadline(view, "sent_by").due_at == sent_due
    await skip_to(ts_env, at(wednesday, 16))
    await s.act("record-rag-rating", "hub-sw")
    await s.act("confirm-no-recent-casework", "hub-tm")
    await skip_to(ts_env, sent_due - MINUTE)
    assert status(await s.view(), "sent_by") is DeadlineStatus.pending
    await skip_to(ts_env, sent_due + MINUTE)
    view = await settled(s, missed("sent_by"))
    assert (view.stage, view.responsible_team) == (Stage.proposed, "hub")
    late = f"deadline missed: {title(S7, 'sent_by')}"
    await expect_mail(mailbox, {"hub-tm": [late]})  # the Hub's Team Manager only
    assert cafcass_mail(mailbox) == []  # CAFCASS does not hear of the Hub's delay
    # Tuesday 29 December (Monday 28 is Boxing Day's substitute): sent late.
    await skip_to(ts_env, at(date(year, 12, 29), 9))
    view = await s.act("send-to-cafcass", "hub-tm")
    assert (view.stage, view.responsible_team) == (Stage.closed, "cafcass")
    assert status(view, "sent_by") is DeadlineStatus.met_late
    await eventually(lambda: cafcass_mail(mailbox), [TO_CAFCASS].__eq__)
    await expect_mail(mailbox, {"hub-tm": [late, TO_CAFCASS]})


async def test_casework_found_after_all_keeps_the_request_from_cafcass(ts_env, worker, mailbox):
    # Monday 22 March 09:00 GMT, the week before Easter: the Hub finds active casework in the
    # previous month; the request is not CAFCASS's and the Hub withdraws.
    year = easter_on_march_28(await ts_env.get_current_time())
    monday = date(year, 3, 22)
    s, _ = await opened(ts_env, worker, S7, at(monday, 9), by="hub-sw")
    await s.act("record-rag-rating", "hub-sw")
    kind, words = await s.refused("record-recent-casework-found", "hub-sw")
    assert kind == "InvalidInput" and "Say why" in words
    view = await s.act("record-recent-casework-found", "hub-sw",
                       note="Children and Families closed it 2 weeks ago")
    casework = next(g for g in view.gates if g.id == "no_recent_casework")
    assert (casework.done, casework.outcome) == (False, "recent_casework_found")
    kind, _ = await s.refused("send-to-cafcass", "hub-tm")
    assert kind == "WrongStage"
    view = await s.act("withdraw", "hub-tm", note="To Children and Families (Section 7)")
    assert (view.stage, view.responsible_team) == (Stage.withdrawn, "hub")
    await expect_mail(mailbox, {
        "hub-tm": [f"{gate_title(S7, 'no_recent_casework')}: recent_casework_found"]})
    assert cafcass_mail(mailbox) == []


# ----- an adopted child's case closes -------------------------------------------------------

NEEDED = f"{gate_title('cla-adoption-closure', 'post_adoption_support')}: needed"
ATTENDEES = ["child", "adopters", "iro", "childs_social_worker"]


async def test_an_adopted_childs_case_closes_to_cla_with_adoption_support_at_the_review(
        ts_env, worker, mailbox, directory_engine):
    # Monday 22 March 09:00 GMT, the week before Easter (28 March).
    pathway = "cla-adoption-closure"
    year = easter_on_march_28(await ts_env.get_current_time())
    monday = date(year, 3, 22)
    s, view = await opened(ts_env, worker, pathway, at(monday, 9), by="cla-tm")
    assert (view.from_team, view.to_team) == ("cla", "cla")
    assert view.deadlines == []  # the clock runs from the adoption order
    view = await s.act("record-post-adoption-support-needed", "cla-sw")
    gates = {g.id: g.not_needed for g in view.gates}
    assert gates["final_review"] and not gates["support_plan"]
    kind, words = await s.refused("record-final-cla-review-with-adoption-support", "iro",
                                  attendees=[*ATTENDEES, "adoption_support_representative"])
    assert kind == "WrongStage" and gate_title(pathway, "support_plan") in words
    kind, _ = await s.refused("record-final-cla-review", "iro", attendees=ATTENDEES)
    assert kind == "WrongStage"  # not needed: support is
    kind, _ = await s.refused("record-support-plan-contribution", "cla-sw")
    assert kind == "NotPermitted"  # Adoption Support's representative contributes
    await skip_to(ts_env, at(monday + timedelta(days=1), 11))
    await s.act("record-support-plan-contribution", "adoption_support-sw")
    kind, words = await s.refused("record-final-cla-review-with-adoption-support", "iro",
                                  attendees=ATTENDEES)
    assert kind == "InvalidInput" and "adoption_support_representative" in words
    await skip_to(ts_env, at(monday + timedelta(days=2), 14))
    view = await s.act("record-final-cla-review-with-adoption-support", "iro",
                       attendees=[*ATTENDEES, "adoption_support_representative"])
    assert view.stage is Stage.proposed  # the child is still looked after
    # The order made on Thursday 25 March, recorded on Wednesday 31 March. Ten working days
    # from Thursday 25: Good Friday 26 and Easter Monday 29 closed; Tue 30 (1), Wed 31 (2),
    # Thu 1 Apr (3), Fri 2 (4), Mon 5 (5), Tue 6 (6), Wed 7 (7), Thu 8 (8), Fri 9 (9),
    # Mon 12 April (10), 17:00 BST.
    await skip_to(ts_env, at(date(year, 3, 31), 10))
    view = await s.act("record-adoption-order", "cla-tm", date=date(year, 3, 25))
    assert (view.stage, view.responsible_team) == (Stage.closed, "cla")
    assert view.allocated_worker is None  # nobody allocates a closed case
    assert deadline(view, "closed_by").due_at == at(date(year, 4, 12), 17)
    assert status(view, "closed_by") is DeadlineStatus.met
    closed = [e.summary for e in events(directory_engine, view.run_id)
              if e.kind == "case_closed"]
    assert closed == ["Case closed by cla as every required step is done"]
    await expect_mail(mailbox, {"cla-tm": [CLOSED], "adoption_support-tm": [NEEDED, CLOSED]})
    assert cafcass_mail(mailbox) == []


async def test_an_adoption_closure_not_done_in_10_working_days_over_christmas_is_told(
        ts_env, worker, mailbox):
    # Support and Protection held the child (a plan for adoption, the adoptive placement
    # identified). Monday 21 December 09:00 GMT: no post-adoption support needed; the order
    # made on Wednesday 23 December and recorded that afternoon. Ten working days from Wed 23:
    # Thu 24 (1); Christmas Fri 25 and Boxing Day's substitute Mon 28 closed; Tue 29 (2),
    # Wed 30 (3), Thu 31 (4); New Year's Day Fri 1 Jan closed; Mon 4 (5), Tue 5 (6),
    # Wed 6 (7), Thu 7 (8), Fri 8 (9), Mon 11 January (10), 17:00 GMT.
    pathway = "s-and-p-adoption-closure"
    year = christmas_on_friday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, pathway, at(date(year, 12, 21), 9), by="s_and_p-tm")
    view = await s.act("record-no-post-adoption-support", "s_and_p-sw")
    assert {g.id for g in view.gates if g.not_needed} == {
        "support_plan", "final_review_with_adoption_support"}
    await skip_to(ts_env, at(date(year, 12, 23), 15))
    kind, words = await s.refused("record-adoption-order", "s_and_p-tm",
                                  date=date(year, 12, 24))
    assert kind == "InvalidInput" and "future" in words  # the date it was made, not ahead
    view = await s.act("record-adoption-order", "s_and_p-tm", date=date(year, 12, 23))
    due = at(date(year + 1, 1, 11), 17)
    assert deadline(view, "closed_by").due_at == due
    assert view.stage is Stage.proposed  # the final review is not recorded yet
    await skip_to(ts_env, due - MINUTE)
    assert status(await s.view(), "closed_by") is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, missed("closed_by"))
    assert (view.stage, view.responsible_team) == (Stage.proposed, "s_and_p")
    late = f"deadline missed: {title(pathway, 'closed_by')}"
    expected = {"s_and_p-tm": [late], "s_and_p-sm": [late]}
    await expect_mail(mailbox, expected)
    await skip_to(ts_env, at(date(year + 1, 1, 12), 10))
    view = await s.act("record-final-cla-review", "s_and_p-sw", attendees=ATTENDEES)
    assert (view.stage, view.responsible_team) == (Stage.closed, "s_and_p")
    assert status(view, "closed_by") is DeadlineStatus.met_late
    expected["s_and_p-tm"].append(CLOSED)
    expected["adoption_support-tm"] = [CLOSED]
    await expect_mail(mailbox, expected)


async def test_a_cwd_adoption_closure_is_closed_by_cwd(ts_env, worker, mailbox):
    # Monday 22 March 09:00 GMT; every step that morning; the order made that day.
    year = easter_on_march_28(await ts_env.get_current_time())
    monday = date(year, 3, 22)
    s, _ = await opened(ts_env, worker, "cwd-adoption-closure", at(monday, 9),
                        by="cwd-tm")
    kind, _ = await s.refused("record-no-post-adoption-support", "cla-sw")
    assert kind == "NotPermitted"  # the responsible team decides
    await s.act("record-no-post-adoption-support", "cwd-sw")
    await s.act("record-final-cla-review", "iro", attendees=ATTENDEES)
    view = await s.act("record-adoption-order", "cwd-sw", date=monday)
    assert (view.stage, view.responsible_team) == (Stage.closed, "cwd")
    await expect_mail(mailbox, {"cwd-tm": [CLOSED], "adoption_support-tm": [CLOSED]})
