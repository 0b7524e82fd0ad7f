"""Fault: the same request sent many times at once with one Idempotency-Key acts once.

A manager's browser or a proxy retries, or a double click sends the request twice: each
duplicate must get the same answer and the transfer must change once — one event in the
case store, one set of emails. Each test sends COPIES copies concurrently through the
HTTP API (a real worker on the time-skipping server, a SQLite store, a real SMTP server),
compares the answers, and checks the store's invariants (`check_store`) with the mail the
SMTP server accepted.

Found here, and fixed since (the tests now guard them): concurrent copies of an action
with a note raced when the note was saved (500); an action request held two pooled
connections at once, so as many concurrent actions as the pool holds could deadlock it
(500 after 30 s); a key was scoped to (action, key), so reusing it for another action
acted again; a start's key named its Update on the workflow of its case only, so the key
reused to start another case started that one too (now each start key is registered in
the case store with its case first).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy
import sqlmodel
from sqlalchemy import event
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from database import make_engine
from models.tables import ActionNote, Notification, Transfer
from tests import dates
from tests.faults.invariants import caseflow_key, check_store
from tests.mail import Mailbox
from tests.scenario import PROTOCOLS
from tests.transfers import CHECKLIST, api_on, events, eventually

# More copies than the API's SQLite pool has connections (5 + 10): a request may hold only
# one at a time (test_an_action_needs_one_store_connection_at_a_time).
COPIES = 20
GATESHEAD_START = {"authority": "gateshead", "pathway": "sgcp-to-lac"}
NOTTINGHAM_START = {"authority": "nottingham", "pathway": "fieldwork-to-cic"}


def as_(who: str, key: str | None = None) -> dict[str, str]:
    """Sign in as a demo staff member, e.g. `gateshead-sgcp-tm`, optionally with a key."""
    headers = {"Authorization": f"Bearer demo-{who}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


@pytest.fixture
async def api(ts_env: WorkflowEnvironment, worker: Worker, directory_engine: Any,
              sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API on its own engine (its own connection pool), as in production, where the API
    and the worker are separate processes."""
    engine = make_engine(sqlite_url)
    async with api_on(engine, ts_env, worker) as client:
        yield client
    engine.dispose()


@pytest.fixture
async def race_api(ts_env: WorkflowEnvironment, worker: Worker, directory_engine: Any,
                   sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API on a store that is slow to insert a note: the first two inserts of an
    `actionnote` row wait for each other (up to 5 s), so two concurrent requests that both
    found no note both insert one, deterministically."""
    engine = make_engine(sqlite_url)
    barrier = threading.Barrier(2, timeout=5)
    seen = Counter[str]()
    lock = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _slow_note_insert(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("INSERT INTO ACTIONNOTE"):
            return
        with lock:
            seen["inserts"] += 1
            first_two = seen["inserts"] <= 2
        if first_two:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    async with api_on(engine, ts_env, worker) as client:
        yield client
    engine.dispose()


def sqlite_engine(url: str, **pool: Any) -> sqlalchemy.Engine:
    """make_engine's SQLite engine (same connection settings and pragmas), with `pool`
    settings of the test's choosing."""
    engine = sqlmodel.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

    @event.listens_for(engine, "connect")
    def _pragmas(conn: Any, _record: Any) -> None:
        cur = conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    return engine


async def start(api: httpx.AsyncClient, case_id: str, who: str, body: dict[str, Any],
                **extra: Any) -> dict[str, Any]:
    response = await api.post("/transfers", json={**body, "case_id": case_id, **extra},
                              headers=as_(who))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def act(api: httpx.AsyncClient, transfer_id: str, action: str, who: str,
              key: str | None = None, **body: Any) -> httpx.Response:
    return await api.post(f"/transfers/{transfer_id}/actions/{action}", json=body or None,
                          headers=as_(who, key))


async def ok(api: httpx.AsyncClient, transfer_id: str, action: str, who: str,
             **body: Any) -> dict[str, Any]:
    response = await act(api, transfer_id, action, who, **body)
    assert response.status_code == 200, f"{action}: {response.text}"
    answer: dict[str, Any] = response.json()
    return answer


async def all_at_once(send: Any) -> list[httpx.Response]:
    """COPIES concurrent calls of `send()`; each answer returned."""
    return list(await asyncio.gather(*[send() for _ in range(COPIES)]))


def assert_one_answer(answers: list[httpx.Response], status: int) -> dict[str, Any]:
    codes = Counter(a.status_code for a in answers)
    assert codes == {status: COPIES}, {code: next(a.text for a in answers if a.status_code
                                                  == code) for code in codes}
    bodies = [a.json() for a in answers]
    assert all(b == bodies[0] for b in bodies), "duplicates got different answers"
    first: dict[str, Any] = bodies[0]
    return first


def kinds(engine: sqlalchemy.Engine, run_id: str) -> list[str]:
    return [e.kind for e in events(engine, run_id)]


def emails_for(engine: sqlalchemy.Engine, run_id: str, seq: int) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification).where(
            Notification.run_id == run_id, Notification.seq == seq)))


async def settled(engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """Wait until every email written is delivered, then check the store's invariants."""
    def unsent() -> int:
        with Session(engine) as session:
            return len(session.exec(select(Notification.key).where(
                col(Notification.sent_at).is_(None))).all())

    await eventually(unsent, lambda n: n == 0)
    check_store(engine, mailbox=mailbox)


def one_change(engine: sqlalchemy.Engine, mailbox: Mailbox, run_id: str, kind: str,
               answer: dict[str, Any]) -> None:
    """The action left exactly one `kind` event, the answer's seq, with one email each."""
    trail = events(engine, run_id)
    matching = [e for e in trail if e.kind == kind]
    assert len(matching) == 1, [e.kind for e in trail]
    event = matching[0]
    assert answer["seq"] >= event.seq
    sent = emails_for(engine, run_id, event.seq)
    recipients = Counter(n.recipient_id for n in sent)
    assert all(c == 1 for c in recipients.values()), recipients
    accepted = Counter(caseflow_key(m) for _, m in mailbox.messages)
    assert all(accepted[n.key] == 1 for n in sent), accepted


# ----- starts -------------------------------------------------------------------------------


async def test_concurrent_starts_with_one_key_start_once(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    body = {**GATESHEAD_START, "case_id": "C501", "children": ["C501", "C502"]}
    answers = await all_at_once(lambda: api.post(
        "/transfers", json=body, headers=as_("gateshead-sgcp-tm", "start-C501")))
    view = assert_one_answer(answers, 201)
    with Session(directory_engine) as session:
        rows = session.exec(select(Transfer).where(
            Transfer.transfer_id == "transfer-gateshead-C501")).all()
    assert [r.run_id for r in rows] == [view["run_id"]]
    await settled(directory_engine, mailbox)
    assert kinds(directory_engine, view["run_id"]) == ["started"]
    one_change(directory_engine, mailbox, view["run_id"], "started", view)
    # The LAC Team Manager heard of it once.
    assert [n.recipient_id for n in emails_for(directory_engine, view["run_id"], 1)] == [
        "gateshead-lac-tm"]


# ----- actions ------------------------------------------------------------------------------


async def test_concurrent_gate_completions_act_once(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    view = await start(api, "C510", "gateshead-sgcp-tm", GATESHEAD_START)
    tid, run_id = view["transfer_id"], view["run_id"]
    await ok(api, tid, "authorise-summary", "gateshead-sgcp-tm")
    answers = await all_at_once(lambda: act(api, tid, "complete-checklist", "gateshead-sgcp-tm",
                                            "audit-C510", items=CHECKLIST))
    answer = assert_one_answer(answers, 200)
    assert next(g for g in answer["gates"] if g["id"] == "checklist")["done"] is True
    await settled(directory_engine, mailbox)
    assert kinds(directory_engine, run_id) == ["started", "gate:summary_authorised",
                                               "gate:checklist"]
    one_change(directory_engine, mailbox, run_id, "gate:checklist", answer)


async def test_concurrent_last_requirements_that_transfer_the_case_act_once(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """One last requirement whose consequence (the transfer, with its emails) happens in the
    same call."""
    three_weeks_ago = (dates.now() - timedelta(days=21)).isoformat()
    view = await start(api, "C520", "gateshead-sgcp-tm", GATESHEAD_START,
                       anchor_at=three_weeks_ago)
    tid, run_id = view["transfer_id"], view["run_id"]
    await ok(api, tid, "authorise-summary", "gateshead-sgcp-tm")
    await ok(api, tid, "complete-checklist", "gateshead-sgcp-tm", items=CHECKLIST)
    await ok(api, tid, "inform-iro", "gateshead-sgcp-sw")
    answers = await all_at_once(lambda: act(api, tid, "record-care-order", "gateshead-sgcp-tm",
                                            "care-C520"))
    answer = assert_one_answer(answers, 200)
    assert (answer["stage"], answer["responsible_team"]) == ("transferred", "lac")
    await settled(directory_engine, mailbox)
    one_change(directory_engine, mailbox, run_id, "gate:legal_status:care_order", answer)
    one_change(directory_engine, mailbox, run_id, "transferred", answer)


async def gateshead_transferred(api: httpx.AsyncClient, case_id: str) -> tuple[str, str]:
    """A Gateshead transfer whose TM discussion was three weeks ago, every requirement met: it
    transfers at once (its agreed date has passed)."""
    three_weeks_ago = (dates.now() - timedelta(days=21)).isoformat()
    view = await start(api, case_id, "gateshead-sgcp-tm", GATESHEAD_START,
                       anchor_at=three_weeks_ago)
    tid = view["transfer_id"]
    await ok(api, tid, "authorise-summary", "gateshead-sgcp-tm")
    await ok(api, tid, "complete-checklist", "gateshead-sgcp-tm", items=CHECKLIST)
    await ok(api, tid, "inform-iro", "gateshead-sgcp-sw")
    assert (await ok(api, tid, "record-care-order", "gateshead-sgcp-tm"))["stage"] == \
        "transferred"
    return tid, view["run_id"]


async def test_concurrent_allocations_act_once(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    tid, run_id = await gateshead_transferred(api, "C530")
    answers = await all_at_once(lambda: act(api, tid, "allocate", "gateshead-lac-tm",
                                            "alloc-C530", worker_id="W7"))
    answer = assert_one_answer(answers, 200)
    assert (answer["stage"], answer["allocated_worker"]) == ("allocated", "W7")
    await settled(directory_engine, mailbox)
    one_change(directory_engine, mailbox, run_id, "allocated", answer)
    # The SGCP Team Manager heard of it once.
    allocated = next(e for e in events(directory_engine, run_id) if e.kind == "allocated")
    assert [n.recipient_id for n in emails_for(directory_engine, run_id, allocated.seq)] == [
        "gateshead-sgcp-tm"]


def assert_one_note(engine: sqlalchemy.Engine, ref: str | None, text: str) -> None:
    assert ref is not None
    with Session(engine) as session:
        notes = session.exec(select(ActionNote).where(ActionNote.ref == ref)).all()
    assert [n.text for n in notes] == [text]


async def nottingham_initiated(api: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    view = await start(api, case_id, "nottingham-fieldwork-tm", NOTTINGHAM_START)
    tid = view["transfer_id"]
    await ok(api, tid, "confirm-receipt", "nottingham-cic-tm")
    await nottingham_order_granted(api, view)
    await ok(api, tid, "record-joint-visit", "nottingham-cic-sw")
    items = PROTOCOLS["nottingham"].pathways["fieldwork-to-cic"].gates["checklist"].items
    await ok(api, tid, "complete-checklist", "nottingham-fieldwork-tm", items=items)
    await ok(api, tid, "initiate", "nottingham-fieldwork-tm")
    return view


async def nottingham_order_granted(api: httpx.AsyncClient, view: dict[str, Any]
                                   ) -> dict[str, Any]:
    """The order granted on the day the transfer started (the 10 days run from it; a UTC date
    is never ahead of London's, so never in the future)."""
    return await ok(api, view["transfer_id"], "record-order-granted", "nottingham-fieldwork-tm",
                    date=view["anchor_at"][:10])


async def disputes_act_once(api: httpx.AsyncClient, engine: sqlalchemy.Engine,
                            mailbox: Mailbox, case_id: str, *, first_alone: bool) -> None:
    view = await nottingham_initiated(api, case_id)
    tid, run_id = view["transfer_id"], view["run_id"]

    def send() -> Any:
        return act(api, tid, "dispute", "nottingham-cic-tm", f"dispute-{case_id}",
                   note="Care plan not on file")

    answers = [await send()] if first_alone else []
    answers += await all_at_once(send)
    answer = assert_one_answer(answers[-COPIES:] if first_alone else answers, 200)
    assert answers[0].json() == answer
    assert (answer["stage"], answer["escalation_level"]) == ("disputed", 1)
    await settled(engine, mailbox)
    one_change(engine, mailbox, run_id, "disputed", answer)
    disputed = next(e for e in events(engine, run_id) if e.kind == "disputed")
    assert_one_note(engine, disputed.note_ref, "Care plan not on file")
    # The first level of the ladder (both Service Managers) was told, once each.
    assert sorted(n.recipient_id for n in emails_for(engine, run_id, disputed.seq)) == [
        "nottingham-cic-sm", "nottingham-fieldwork-sm"]


async def extensions_act_once(api: httpx.AsyncClient, engine: sqlalchemy.Engine,
                              mailbox: Mailbox, case_id: str, *, first_alone: bool) -> None:
    view = await start(api, case_id, "nottingham-fieldwork-tm", NOTTINGHAM_START)
    tid, run_id = view["transfer_id"], view["run_id"]
    view = await nottingham_order_granted(api, view)
    due = next(d for d in view["deadlines"] if d["id"] == "transfer_by")["due_at"]
    later = _working_day_after(datetime.fromisoformat(due), weeks=4)

    def send() -> Any:
        return act(api, tid, "extend-deadline", "nottingham-fieldwork-sm", f"extend-{case_id}",
                   deadline="transfer_by", until=later,
                   note="Final hearing adjourned by the court")

    answers = [await send()] if first_alone else []
    answers += await all_at_once(send)
    answer = assert_one_answer(answers[-COPIES:] if first_alone else answers, 200)
    assert answers[0].json() == answer
    after = next(d for d in answer["deadlines"] if d["id"] == "transfer_by")
    assert after["due_at"].startswith(later) and after["extended"] is True
    await settled(engine, mailbox)
    one_change(engine, mailbox, run_id, "deadline_extend", answer)
    extended = next(e for e in events(engine, run_id) if e.kind == "deadline_extend")
    assert_one_note(engine, extended.note_ref, "Final hearing adjourned by the court")


async def test_retried_disputes_with_a_note_act_once(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """One dispute, then a burst of retries of it (its note already kept)."""
    await disputes_act_once(api, directory_engine, mailbox, "N510", first_alone=True)


async def test_retried_extensions_with_a_note_act_once(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    await extensions_act_once(api, directory_engine, mailbox, "N520", first_alone=True)


# All copies at once, on a store slow to insert a note (`race_api`): two copies both find
# no note and both insert it. Until e043adc the second insert failed (IntegrityError on
# actionnote.ref) and its request answered 500.


async def test_concurrent_disputes_with_a_note_act_once(
        race_api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine,
        mailbox: Mailbox) -> None:
    await disputes_act_once(race_api, directory_engine, mailbox, "N530", first_alone=False)


async def test_concurrent_extensions_with_a_note_act_once(
        race_api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine,
        mailbox: Mailbox) -> None:
    await extensions_act_once(race_api, directory_engine, mailbox, "N540", first_alone=False)


async def test_concurrent_allocations_with_a_note_act_once(
        race_api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine,
        mailbox: Mailbox) -> None:
    tid, run_id = await gateshead_transferred(race_api, "C570")
    answers = await all_at_once(lambda: act(race_api, tid, "allocate", "gateshead-lac-tm",
                                            "alloc-C570", worker_id="W8",
                                            note="Allocated to W8 after the panel"))
    answer = assert_one_answer(answers, 200)
    await settled(directory_engine, mailbox)
    one_change(directory_engine, mailbox, run_id, "allocated", answer)


async def test_an_action_needs_one_store_connection_at_a_time(
        ts_env: WorkflowEnvironment, worker: Worker, sqlite_url: str,
        directory_engine: sqlalchemy.Engine) -> None:
    """Until e043adc an action held the session of `current_staff` while `act` opened
    another for `_load`: a one-connection pool answered 500 after pool_timeout, and 15+
    concurrent actions could deadlock the default pool the same way."""
    engine = sqlite_engine(sqlite_url, pool_size=1, max_overflow=0, pool_timeout=2)
    async with api_on(engine, ts_env, worker) as tiny:
        view = await start(tiny, "C580", "gateshead-sgcp-tm", GATESHEAD_START)
        answer = await act(tiny, view["transfer_id"], "authorise-summary", "gateshead-sgcp-tm",
                           "k-C580")
        assert answer.status_code == 200, answer.text
    engine.dispose()


def _working_day_after(moment: datetime, *, weeks: int) -> str:
    """A Wednesday some weeks later, away from Christmas and New Year (the only bank holidays
    that can fall on a Wednesday)."""
    day = moment.date() + timedelta(weeks=weeks)
    day += timedelta(days=(2 - day.weekday()) % 7)
    if (day.month, day.day) >= (12, 20) or (day.month, day.day) <= (1, 2):
        day += timedelta(weeks=3)
    return day.isoformat()


# ----- one key, two different requests ------------------------------------------------------


async def test_a_key_reused_with_a_different_body_does_not_act_again(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    tid, run_id = await gateshead_transferred(api, "C540")
    first = await act(api, tid, "allocate", "gateshead-lac-tm", "alloc-C540", worker_id="W1")
    assert first.status_code == 200
    second = await act(api, tid, "allocate", "gateshead-lac-tm", "alloc-C540", worker_id="W2")
    assert second.status_code < 500
    await settled(directory_engine, mailbox)
    assert kinds(directory_engine, run_id).count("allocated") == 1
    current = (await api.get(f"/transfers/{tid}", headers=as_("gateshead-lac-tm"))).json()
    assert current["allocated_worker"] == "W1"


async def test_a_key_reused_for_a_different_action_does_not_act_on_it(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    view = await start(api, "C550", "gateshead-sgcp-tm", GATESHEAD_START)
    tid, run_id = view["transfer_id"], view["run_id"]
    first = await act(api, tid, "authorise-summary", "gateshead-sgcp-tm", "K-C550")
    assert first.status_code == 200
    second = await act(api, tid, "complete-checklist", "gateshead-sgcp-tm", "K-C550",
                       items=CHECKLIST)
    await settled(directory_engine, mailbox)
    assert kinds(directory_engine, run_id) == ["started", "gate:summary_authorised"]
    # Either a refusal naming the key, or (the API's choice) the first action's answer again.
    if second.status_code == 200:
        assert second.json() == first.json()
    else:
        assert second.status_code in (409, 422), second.text
        assert "Idempotency-Key" in second.json()["detail"]


def started_cases(engine: sqlalchemy.Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(Transfer.case_id)).all())


async def test_a_key_reused_to_start_another_case_does_not_start_it(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """Until the start keys were registered in the case store, the second request started
    C561 (the key named the start's Update on the workflow of C560 only)."""
    first = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C560"},
                           headers=as_("gateshead-sgcp-tm", "K-start"))
    assert first.status_code == 201
    second = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C561"},
                            headers=as_("gateshead-sgcp-tm", "K-start"))
    # The key is the authority's: another manager of it, on another pathway, is refused too.
    other = await api.post("/transfers", json={
        "authority": "gateshead", "pathway": "a-and-i-to-early-help", "case_id": "C561"},
        headers=as_("gateshead-a_and_i-tm", "K-start"))
    # The first request sent again (a retry) still gets its first answer.
    retried = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C560"},
                             headers=as_("gateshead-sgcp-tm", "K-start"))
    await settled(directory_engine, mailbox)
    assert started_cases(directory_engine) == ["C560"]
    for refused in (second, other):
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"] == (
            "This Idempotency-Key was already used to start the transfer of case C560 "
            "(transfer-gateshead-C560); use a new key for another request")
    assert retried.status_code == 201 and retried.json() == first.json()
    assert kinds(directory_engine, first.json()["run_id"]) == ["started"]
    # A new key starts C561.
    new_key = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C561"},
                             headers=as_("gateshead-sgcp-tm", "K-start-2"))
    assert new_key.status_code == 201, new_key.text
    await settled(directory_engine, mailbox)
    assert started_cases(directory_engine) == ["C560", "C561"]


async def test_concurrent_starts_of_two_cases_with_one_key_start_one(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """COPIES requests at once with one key, half of them for C562 and half for C563:
    whichever case registers the key first is started, once; the other is refused."""
    def send(case_id: str) -> Any:
        return api.post("/transfers", json={**GATESHEAD_START, "case_id": case_id},
                        headers=as_("gateshead-sgcp-tm", "K-two-cases"))

    cases = ["C562", "C563"] * (COPIES // 2)
    answers = list(zip(cases, await asyncio.gather(*[send(c) for c in cases]), strict=True))
    await settled(directory_engine, mailbox)
    started = started_cases(directory_engine)
    assert len(started) == 1 and started[0] in cases, started
    won = [a for case, a in answers if case == started[0]]
    lost = [a for case, a in answers if case != started[0]]
    assert {a.status_code for a in won} == {201}, [a.text for a in won]
    assert all(a.json() == won[0].json() for a in won)
    view = won[0].json()
    assert view["case_id"] == started[0]
    assert {a.status_code for a in lost} == {422}, [a.text for a in lost]
    assert all(f"case {started[0]}" in a.json()["detail"] for a in lost)
    one_change(directory_engine, mailbox, view["run_id"], "started", view)


async def test_a_key_whose_start_was_refused_may_start_another_case(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """A start refused with a key (here: its case already had an open transfer) started
    nothing, so the key is not spent: the manager may correct the case and send it again."""
    await start(api, "C564", "gateshead-sgcp-tm", GATESHEAD_START)
    refused = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C564"},
                             headers=as_("gateshead-sgcp-tm", "K-corrected"))
    assert refused.status_code == 409 and "already has an open transfer" in refused.text
    # Refused again while the case still has its open transfer, and for the same reason.
    again = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C564"},
                           headers=as_("gateshead-sgcp-tm", "K-corrected"))
    assert again.status_code == 409 and again.json() == refused.json()
    corrected = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C565"},
                               headers=as_("gateshead-sgcp-tm", "K-corrected"))
    assert corrected.status_code == 201, corrected.text
    retried = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C565"},
                             headers=as_("gateshead-sgcp-tm", "K-corrected"))
    assert retried.status_code == 201 and retried.json() == corrected.json()
    await settled(directory_engine, mailbox)
    assert started_cases(directory_engine) == ["C564", "C565"]
    # Now spent on C565: it cannot start C566.
    spent = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C566"},
                           headers=as_("gateshead-sgcp-tm", "K-corrected"))
    assert spent.status_code == 422 and "case C565" in spent.json()["detail"]


async def test_a_refused_request_does_not_spend_its_key(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """A start the API refuses before it reaches the workflow (here: an agreed date on a
    Saturday) registers nothing: the corrected request, for another case, goes ahead."""
    anchor = (dates.now() - timedelta(days=1)).isoformat()
    saturday = _next(dates.now().date(), weekday=5)
    refused = await api.post("/transfers", json={
        **GATESHEAD_START, "case_id": "C567", "anchor_at": anchor,
        "agreed_transfer_date": saturday}, headers=as_("gateshead-sgcp-tm", "K-saturday"))
    assert refused.status_code == 422 and "not a working day" in refused.json()["detail"]
    corrected = await api.post("/transfers", json={**GATESHEAD_START, "case_id": "C568"},
                               headers=as_("gateshead-sgcp-tm", "K-saturday"))
    assert corrected.status_code == 201, corrected.text
    await settled(directory_engine, mailbox)
    assert started_cases(directory_engine) == ["C568"]


def _next(day: date, *, weekday: int) -> str:
    return (day + timedelta(days=(weekday - day.weekday()) % 7 or 7)).isoformat()


async def test_a_refused_retry_keeps_the_note_the_first_request_stored(
        api: httpx.AsyncClient, directory_engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """The allocation (with its note) ends the transfer, and the case's next transfer starts;
    the same request sent again now reaches the new transfer, which refuses it (not at that
    stage) -- and must not take the first request's note with it (a note's ref is the
    transfer id, the action and the key). Until this change a 4xx on a retry deleted it."""
    view = await start(api, "C590", "gateshead-irt-tm",
                       {"authority": "gateshead", "pathway": "s7-s37-closed-case-to-a-and-i"})
    tid, run_id = view["transfer_id"], view["run_id"]
    await ok(api, tid, "record-previous-involvement", "gateshead-irt-tm")

    def allocate() -> Any:
        return act(api, tid, "allocate", "gateshead-a_and_i-tm", "alloc-C590", worker_id="W9",
                   note="Allocated to W9, who knew the family")

    first = await allocate()
    assert first.status_code == 200 and first.json()["stage"] == "closed", first.text
    await settled(directory_engine, mailbox)
    allocated = next(e for e in events(directory_engine, run_id) if e.kind == "allocated")
    await start(api, "C590", "gateshead-irt-tm",
                {"authority": "gateshead", "pathway": "s7-s37-closed-case-to-a-and-i"})
    again = await allocate()
    assert again.status_code == 409, again.text
    assert_one_note(directory_engine, allocated.note_ref, "Allocated to W9, who knew the family")
