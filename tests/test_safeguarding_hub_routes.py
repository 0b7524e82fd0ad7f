"""Seed 003 (the Safeguarding Hub authority): the front-door routes issue 9 added.

A court's request for a Section 7 report on a case that is not open goes to the team that
last had the involvement when there was active casework in the month before the request
(one pathway per team; without it the report is CAFCASS's and the Hub withdraws); a foster
carer's application to adopt a known child goes to the CLA team, and the joint viability
visit with the Adoption and Fostering Assessment Team is tracked after it arrives.

Every date is worked out from the time-skipping server's present (tests/seed_scenes.py), so
the tests hold on any day the suite runs: the next Christmas on a Friday (as in 2026) and
the next Easter on 28 March (the clocks go forward that morning, as in 2027). Working days
are counted by hand in the comments. Timers are crossed by moving the server's clock, never
by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from models.transfer import DeadlineStatus, Stage, TransferView
from tests import scenario
from tests.scenario import PROTOCOLS, Scenario, deadline, settled, status
from tests.seed_scenes import LONDON, at, christmas_on_friday, easter_on_march_28, utc
from tests.transfers import api_on, skip_to

A = "safeguarding_hub"
PROTOCOL = PROTOCOLS[A]

STARTED = "transfer proposed to your team"
ALLOCATED = "worker W1 allocated"
RAG_MISSED = "deadline missed: Contact RAG rated within 24 hours"
RECENT = PROTOCOL.pathways["hub-to-s-and-p-section-7"].gates["recent_casework"].title
MINUTE = timedelta(minutes=1)


def moved(team: str) -> str:
    return f"case transferred to {team}"


async def expect_mail(mailbox: Any, expected: dict[str, list[str]]) -> None:
    await scenario.expect_mail(mailbox, A, expected)


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime,
                 by: str = "hub-sw") -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, A, pathway)
    return s, await s.open(anchor, by=by)


def missed(name: str) -> Callable[[TransferView], bool]:
    return lambda view: status(view, name) is DeadlineStatus.missed


def title(pathway: str, name: str) -> str:
    return PROTOCOL.pathways[pathway].deadlines[name].title


# ----- the protocol file --------------------------------------------------------------------

SECTION_7 = {"hub-to-s-and-p-section-7": "s_and_p", "hub-to-c-and-f-section-7": "c_and_f",
             "hub-to-cwd-section-7": "cwd", "hub-to-cla-section-7": "cla",
             "hub-to-adoption-support-section-7": "adoption_support"}


def test_a_section_7_request_may_go_to_every_team_that_can_have_had_the_case() -> None:
    s7 = {name: p.receiving for name, p in PROTOCOL.pathways.items()
          if p.anchor.name == "s7_request_received"}
    # Else CAFCASS (tests/test_safeguarding_hub_external_and_closure.py): its own steps.
    assert s7 == {**SECTION_7, "hub-to-cafcass-section-7": "cafcass"}
    for name in SECTION_7:
        pathway = PROTOCOL.pathways[name]
        assert pathway.sending == "hub"
        assert pathway.transfer.requires == ["rag_rated", "recent_casework", "sent"]
        assert pathway.gates["sent"].after == ["rag_rated", "recent_casework"]
        assert str(pathway.deadlines["sent_by"].within) == "3 days"
        # Without casework in the previous month the request is not sent (CAFCASS's).
        assert not pathway.outcomes("recent_casework")["no_recent_casework"].completes


# ----- Section 7: to the team with casework in the previous month ---------------------------


@pytest.mark.parametrize("pathway", list(SECTION_7))
async def test_a_section_7_request_goes_to_the_team_with_recent_casework_over_easter(
        ts_env, worker, mailbox, pathway: str):
    # Easter Saturday, 27 March 10:00 GMT. The clocks go forward at 01:00 UTC on Sunday: 24
    # elapsed hours later is 11:00 BST on Sunday. 3 calendar days: Tuesday 30 March (Easter
    # Monday is closed, but the day counts), 17:00 BST.
    team = SECTION_7[pathway]
    year = easter_on_march_28(await ts_env.get_current_time())
    saturday = date(year, 3, 27)
    s, view = await opened(ts_env, worker, pathway, at(saturday, 10))
    assert deadline(view, "rag_by").due_at == utc(saturday + timedelta(days=1), 10)
    assert deadline(view, "rag_by").due_at == at(saturday + timedelta(days=1), 11)
    tuesday = saturday + timedelta(days=3)
    assert deadline(view, "sent_by").due_at == at(tuesday, 17)
    await skip_to(ts_env, at(saturday, 10, 30))
    await s.act("record-rag-rating", "hub-sw")
    kind, words = await s.refused("send-to-team", "hub-tm")
    assert kind == "WrongStage" and RECENT in words  # the casework is confirmed first
    kind, _ = await s.refused("confirm-recent-casework", f"{team}-tm")
    assert kind == "NotPermitted"  # the Hub checks the case's history
    view = await s.act("confirm-recent-casework", "hub-sw")
    assert view.stage is Stage.proposed
    kind, _ = await s.refused("send-to-team", "hub-sw")
    assert kind == "NotPermitted"  # the Hub's Team Manager sends
    await skip_to(ts_env, at(tuesday, 16, 30))
    view = await s.act("send-to-team", "hub-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, team)
    assert {d.id: d.status for d in view.deadlines} == {
        "rag_by": DeadlineStatus.met, "sent_by": DeadlineStatus.met}
    view = await s.act("allocate", f"{team}-tm", worker_id="W1")
    assert view.stage is Stage.closed
    await expect_mail(mailbox, {f"{team}-tm": [STARTED, moved(team)],
                                "hub-tm": [moved(team), ALLOCATED]})


async def test_without_recent_casework_the_request_is_not_sent_and_its_breach_is_told(
        ts_env, worker, mailbox):
    # Wednesday 23 December 15:00 GMT, Christmas on the Friday: RAG rating due 24 elapsed
    # hours later (Christmas Eve 15:00); dealt with in 3 calendar days, Saturday 26 December
    # 17:00 GMT (a closed day counts: the clock is in days, not working days).
    pathway = "hub-to-c-and-f-section-7"
    year = christmas_on_friday(await ts_env.get_current_time())
    wednesday = date(year, 12, 23)
    s, view = await opened(ts_env, worker, pathway, at(wednesday, 15))
    rag_due, sent_due = at(wednesday + timedelta(days=1), 15), at(date(year, 12, 26), 17)
    assert (deadline(view, "rag_by").due_at, deadline(view, "sent_by").due_at) == (
        rag_due, sent_due)
    await skip_to(ts_env, rag_due - MINUTE)
    assert status(await s.view(), "rag_by") is DeadlineStatus.pending
    await skip_to(ts_env, rag_due + MINUTE)
    await settled(s, missed("rag_by"))
    expected: dict[str, list[str]] = {"c_and_f-tm": [STARTED], "hub-tm": [RAG_MISSED]}
    await expect_mail(mailbox, expected)
    await s.act("record-rag-rating", "hub-sw")  # late: it stays met late
    kind, words = await s.refused("record-no-recent-casework", "hub-sw")
    assert kind == "InvalidInput" and "Say why" in words
    view = await s.act("record-no-recent-casework", "hub-sw",
                       note="Closed 3 months ago: CAFCASS compile the report")
    casework = next(g for g in view.gates if g.id == "recent_casework")
    assert (casework.done, casework.outcome) == (False, "no_recent_casework")
    kind, _ = await s.refused("send-to-team", "hub-tm")
    assert kind == "WrongStage"  # it is not sent to Children and Families
    expected["hub-tm"].append(f"{RECENT}: no_recent_casework")
    await expect_mail(mailbox, expected)
    # Not withdrawn before the 3 days ran out: both Team Managers hear, once.
    await skip_to(ts_env, sent_due - MINUTE)
    assert status(await s.view(), "sent_by") is DeadlineStatus.pending
    await skip_to(ts_env, sent_due + MINUTE)
    view = await settled(s, missed("sent_by"))
    assert (view.stage, view.responsible_team) == (Stage.proposed, "hub")
    late = f"deadline missed: {title(pathway, 'sent_by')}"
    expected["hub-tm"].append(late)
    expected["c_and_f-tm"].append(late)
    await expect_mail(mailbox, expected)
    # Tuesday 29 December (Monday 28 is Boxing Day's substitute): the Hub withdraws.
    await skip_to(ts_env, at(date(year, 12, 29), 9))
    kind, _ = await s.refused("withdraw", "hub-sw", note="CAFCASS")
    assert kind == "NotPermitted"
    view = await s.act("withdraw", "hub-tm", note="CAFCASS compile the report")
    assert (view.stage, view.responsible_team) == (Stage.withdrawn, "hub")
    expected["c_and_f-tm"].append("transfer withdrawn")
    await expect_mail(mailbox, expected)


async def test_a_section_7_request_starts_and_moves_through_the_api(
        ts_env, worker, mailbox, directory_engine):
    # Started now (the API refuses a contact received in the future): RAG rating due 24
    # elapsed hours later; sent within 3 calendar days, at 17:00 London time that day.
    now = await ts_env.get_current_time()
    today = now.astimezone(LONDON).date()

    def signed(who: str, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer demo-{A}-{who}", "Idempotency-Key": key}

    path = "/transfers/transfer-safeguarding_hub-C1"
    async with api_on(directory_engine, ts_env, worker) as api:
        start = {"authority": A, "pathway": "hub-to-cwd-section-7", "case_id": "C1",
                 "children": ["C1"], "anchor_at": now.isoformat()}
        started = await api.post("/transfers", json=start, headers=signed("hub-sw", "s1"))
        assert started.status_code == 201, started.text
        due = {d["id"]: datetime.fromisoformat(d["due_at"])
               for d in started.json()["deadlines"]}
        assert abs(due["rag_by"] - (now + timedelta(hours=24))) < timedelta(seconds=1)
        assert due["sent_by"] == at(today + timedelta(days=3), 17)
        for action, who, code in (("record-rag-rating", "hub-sw", 200),
                                  ("confirm-recent-casework", "cwd-tm", 403),
                                  ("send-to-team", "hub-tm", 409),
                                  ("confirm-recent-casework", "hub-tm", 200),
                                  ("send-to-team", "hub-tm", 200)):
            answer = await api.post(f"{path}/actions/{action}",
                                    headers=signed(who, f"{action}-{who}-{code}"))
            assert answer.status_code == code, answer.text
        view = (await api.get(path, headers=signed("cwd-tm", "r1"))).json()
        assert (view["stage"], view["responsible_team"]) == ("transferred", "cwd")
    await expect_mail(mailbox, {"cwd-tm": [STARTED, moved("cwd")], "hub-tm": [moved("cwd")]})


# ----- a foster carer's application: the joint viability visit ------------------------------

FOSTER = "hub-to-cla-foster-carer-adoption"
VISIT = PROTOCOL.pathways[FOSTER].after_transfer["viability_visit"].title


def visit_task(view: TransferView) -> Any:
    return next(t for t in view.tasks if t.id == "viability_visit")


async def sent_before_easter(ts_env: Any, worker: Any) -> tuple[Scenario, TransferView, int]:
    # Wednesday 24 March 09:00 GMT; sent at 11:00 the same day.
    year = easter_on_march_28(await ts_env.get_current_time())
    wednesday = date(year, 3, 24)
    s, view = await opened(ts_env, worker, FOSTER, at(wednesday, 9))
    assert deadline(view, "sent_by").due_at == at(date(year, 3, 27), 17)  # 3 days: Saturday
    await skip_to(ts_env, at(wednesday, 10))
    await s.act("record-rag-rating", "hub-sw")
    await skip_to(ts_env, at(wednesday, 11))
    view = await s.act("send-to-team", "hub-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cla")
    # The visit is tracked, with one reminder 10 working days after the transfer: Thu 25
    # (1); Good Friday and Easter Monday closed; Tue 30 (2), Wed 31 (3), Thu 1 Apr (4),
    # Fri 2 (5), Mon 5 (6), Tue 6 (7), Wed 7 (8), Thu 8 (9), Fri 9 April (10), 17:00 BST.
    assert visit_task(view).remind_at == at(date(year, 4, 9), 17)
    assert not visit_task(view).done
    return s, view, year


async def test_a_foster_carers_application_reaches_cla_and_the_joint_visit_is_recorded(
        ts_env, worker, mailbox):
    s, view, year = await sent_before_easter(ts_env, worker)
    view = await s.act("allocate", "cla-tm", worker_id="W1")
    assert view.stage is Stage.allocated  # the joint visit is still outstanding
    await skip_to(ts_env, at(date(year, 4, 6), 14))
    kind, _ = await s.refused("record-viability-joint-visit", "s_and_p-sw")
    assert kind == "NotPermitted"
    view = await s.act("record-viability-joint-visit", "adoption_fostering-sw")
    assert visit_task(view).done and view.stage is Stage.closed
    await expect_mail(mailbox, {"cla-tm": [STARTED, moved("cla")],
                                "hub-tm": [moved("cla"), ALLOCATED],
                                "adoption_fostering-tm": [moved("cla")]})


async def test_the_joint_visit_not_recorded_reminds_both_team_managers_once(
        ts_env, worker, mailbox):
    s, view, year = await sent_before_easter(ts_env, worker)
    due = visit_task(view).remind_at
    await skip_to(ts_env, due - MINUTE)
    assert not visit_task(await s.view()).reminded
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, lambda v: visit_task(v).reminded)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cla")
    reminder = f"reminder: {VISIT}"
    expected = {"cla-tm": [STARTED, moved("cla"), reminder], "hub-tm": [moved("cla")],
                "adoption_fostering-tm": [moved("cla"), reminder]}
    await expect_mail(mailbox, expected)
    await skip_to(ts_env, due + timedelta(days=10))
    view = await s.act("record-viability-joint-visit", "cla-sw")
    assert visit_task(view).done and view.stage is Stage.transferred  # not allocated yet
    await expect_mail(mailbox, expected)  # reminded once only
