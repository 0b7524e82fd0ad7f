"""Fault: the case store (PostgreSQL) becomes unreachable, and comes back.

The worker's engine reaches a fresh PostgreSQL database through a TCP proxy
(`tcp_proxy.TcpProxy`) that the test cuts — every open connection reset, new ones
refused — and restores. While the store is cut, transfers are started, a manager acts
and deadlines fall due (the time-skipping server's clock is moved past them): each change
is decided by its workflow, but its `record_change` (local) activity fails and is retried, so
nothing reaches the store and nobody hears an answer. When the store returns, the
activities' retries succeed and the store converges: every event recorded once and in
order, every email delivered once, and each transfer's current row equal to what its
workflow says. Meanwhile the API, whose engine also goes through the proxy, answers 503
with a readable message, never 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
import sqlmodel
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import api.actions
from activities.outbox import SmtpConfig, message_id
from config import ROOT
from database import make_engine
from models.protocol_files import load_protocols
from models.tables import Notification, Transfer, TransferEvent
from models.transfer import GateAction, TransferView
from ops.demo import seed_demo_directory
from temporal_setup import register_search_attributes
from tests.converter import CONVERTER
from tests.faults.invariants import check_store
from tests.faults.tcp_proxy import TcpProxy
from tests.mail import Mailbox, free_port
from tests.transfers import (
    CHECKLIST,
    SGCP_SW,
    SGCP_TM,
    api_on,
    gate,
    skip_to,
    start,
)
from worker import ACTIVITY_THREADS, build_worker
from workflows.case_transfer import CaseTransferWorkflow

log = logging.getLogger(__name__)
UNAVAILABLE = "The case store is unavailable; try again shortly"


def token(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-gateshead-{who}"}


# ----- fixtures: a store behind a proxy, a worker and an API that use it ------------------


@dataclass
class Store:
    proxy: TcpProxy
    direct: sqlalchemy.Engine  # the test's own view of the store, never cut
    url_through_proxy: str

    def engine(self) -> sqlalchemy.Engine:
        """An engine (make_engine: the production settings) reaching the store through the
        proxy."""
        return make_engine(self.url_through_proxy)


@pytest.fixture
def proxied_store(postgres_url: str) -> Iterator[Store]:
    """A fresh, migrated PostgreSQL database with the demo directory, and a proxy to it."""
    url = make_url(postgres_url)
    with TcpProxy(target_port=url.port or 5432, target_host=url.host or "127.0.0.1") as proxy:
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
        direct = make_engine(postgres_url)
        seed_demo_directory(direct, load_protocols(ROOT / "protocols"))
        yield Store(proxy=proxy, direct=direct, url_through_proxy=through)
        direct.dispose()


@asynccontextmanager
async def proxied_worker(env: WorkflowEnvironment, store: Store, mailbox: Mailbox
                         ) -> AsyncIterator[Worker]:
    """The real worker on `env`, its case store reached through the proxy."""
    engine = store.engine()
    smtp = SmtpConfig(host="127.0.0.1", port=mailbox.port, username="", password="",
                      starttls=False, mail_from="case-transfers@test.example")
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        async with build_worker(env.client, task_queue=f"tq-{uuid.uuid4()}", engine=engine,
                                smtp=smtp, executor=executor) as w:
            yield w
    engine.dispose()


@pytest.fixture
async def store_worker(ts_env: WorkflowEnvironment, proxied_store: Store,
                       mailbox: Mailbox) -> AsyncIterator[Worker]:
    async with proxied_worker(ts_env, proxied_store, mailbox) as w:
        yield w


# ----- helpers ------------------------------------------------------------------------------


def rows(engine: sqlalchemy.Engine) -> dict[str, Transfer]:
    with Session(engine) as session:
        return {r.transfer_id: r for r in session.exec(select(Transfer))}


def kinds(engine: sqlalchemy.Engine, transfer_id: str) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(TransferEvent.kind)
                                 .where(TransferEvent.transfer_id == transfer_id)
                                 .order_by(col(TransferEvent.seq))))


def counts(engine: sqlalchemy.Engine) -> tuple[int, int]:
    with Session(engine) as session:
        events = len(session.exec(select(TransferEvent.id)).all())
        emails = len(session.exec(select(Notification.id)).all())
    return events, emails


def unsent(engine: sqlalchemy.Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Notification.id)
                                .where(col(Notification.sent_at).is_(None))).all())


async def converged(engine: sqlalchemy.Engine, handles: list[WorkflowHandle[Any, Any]],
                    seconds: float = 30) -> dict[str, TransferView]:
    """Wait until each workflow's current row holds what its query says and every email is
    delivered; return the workflows' views."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        views = {h.id: await h.query(CaseTransferWorkflow.view) for h in handles}
        current = rows(engine)
        if all(tid in current and current[tid].seq == v.seq for tid, v in views.items()) \
                and unsent(engine) == 0:
            return views
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"store did not converge: rows {({t: r.seq for t, r in current.items()})}, "
                f"workflows {({t: v.seq for t, v in views.items()})}, unsent {unsent(engine)}")
        await asyncio.sleep(0.05)


async def failing_store_writes(handle: WorkflowHandle[Any, Any]) -> list[tuple[int, str]]:
    """The workflow's failed `record_change` attempts: (attempt, failure). `record_change` is
    a local activity: once its back-off passes the local retry threshold, each failed attempt
    is recorded as a marker (attempt, back-off, failure) followed by a durable timer."""
    history = await handle.fetch_history()
    found = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        marker = event.marker_recorded_event_attributes
        if marker.marker_name != "core_local_activity" or not marker.HasField("failure"):
            continue
        data = json.loads(marker.details["data"].payloads[0].data)
        if data.get("activity_type") == "record_change" and data.get("attempt", 1) > 1:
            # Failure messages are encoded (encrypted) too: decoded here as a client does.
            assert marker.failure.message == "Encoded failure"
            failure = await CONVERTER.decode_failure(marker.failure)
            found.append((int(data["attempt"]), str(failure)))
    return found


async def retried_store_writes(handles: list[WorkflowHandle[Any, Any]], seconds: float = 30
                               ) -> dict[str, list[tuple[int, str]]]:
    """Wait until each workflow shows a `record_change` that has failed and been retried."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        failing = {h.id: await failing_store_writes(h) for h in handles}
        if all(failing.values()):
            return failing
        assert asyncio.get_running_loop().time() < deadline, failing
        await asyncio.sleep(0.1)


async def still_waiting(*tasks: asyncio.Task[Any], seconds: float = 1.0) -> None:
    done, _ = await asyncio.wait(tasks, timeout=seconds)
    assert not done, [t.result() if not t.exception() else t.exception() for t in done]


async def api_unavailable(api: httpx.AsyncClient, transfer_id: str) -> list[int]:
    """Every route, while the store is cut: a 503 whose detail a manager can read."""
    answers = [
        await api.get(f"/transfers/{transfer_id}", headers=token("lac-tm")),
        await api.get("/transfers", params={"team": "lac"}, headers=token("lac-tm")),
        await api.get(f"/transfers/{transfer_id}/events", headers=token("lac-tm")),
        await api.get("/notifications", headers=token("lac-tm")),
        await api.post(f"/transfers/{transfer_id}/actions/inform-iro",
                       headers={**token("sgcp-sw"), "Idempotency-Key": "during-outage"}),
        await api.post("/transfers", headers=token("sgcp-tm"), json={
            "authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": "C999"}),
    ]
    for answer in answers:
        assert answer.status_code == 503, (answer.request.url, answer.status_code, answer.text)
        assert answer.json() == {"detail": UNAVAILABLE}
    return [a.status_code for a in answers]


# ----- the outage ---------------------------------------------------------------------------


async def test_store_outage_converges(ts_env: WorkflowEnvironment, proxied_store: Store,
                                      store_worker: Worker, mailbox: Mailbox) -> None:
    client = ts_env.client
    api_engine = proxied_store.engine()
    async with api_on(api_engine, ts_env, store_worker) as api:
        anchor = await ts_env.get_current_time()
        # A: the summary authorised; C: every requirement met, waiting for its agreed date.
        a, a_view = await start(client, store_worker, anchor, case_id="C1")
        c, c_view = await start(client, store_worker, anchor, case_id="C3")
        await gate(a, "authorise-summary", SGCP_TM)
        steps: list[tuple[str, Any, dict[str, Any]]] = [
            ("authorise-summary", SGCP_TM, {}),
            ("complete-checklist", SGCP_TM, {"items": CHECKLIST}),
            ("inform-iro", SGCP_SW, {}), ("record-care-order", SGCP_TM, {})]
        for action, who, fields in steps:
            c_view = await gate(c, action, who, **fields)
        assert c_view.stage.value == "ready"
        # Both fall due at 17:00 on the 10th working day: C transfers, A misses its deadline
        # (and both miss the transfer meeting's).
        due = next(d.due_at for d in a_view.deadlines if d.id == "transfer_by")
        assert c_view.transfer_date == due
        await skip_to(ts_env, due - timedelta(minutes=10))
        await converged(proxied_store.direct, [a, c])
        assert (await api.get(f"/transfers/{a.id}", headers=token("lac-tm"))).status_code == 200
        before = counts(proxied_store.direct)

        # ----- the store goes away ------------------------------------------------------
        proxied_store.proxy.cut()
        await api_unavailable(api, a.id)
        # B is started, and a manager acts on A: both are taken by their workflows ...
        b_start = asyncio.create_task(start(client, store_worker,
                                            await ts_env.get_current_time(), case_id="C2"))
        checklist = await a.start_update(
            CaseTransferWorkflow.complete_gate,
            GateAction(action="complete-checklist", actor=SGCP_TM, items=CHECKLIST),
            id="checklist-during-outage", wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        a_answer = asyncio.create_task(checklist.result())
        # ... and the deadline's instant passes: A's breach and C's transfer are due.
        await skip_to(ts_env, due + timedelta(minutes=5))
        await still_waiting(b_start, a_answer)
        assert counts(proxied_store.direct) == before, "nothing written while the store is cut"
        failing = await retried_store_writes([a, c])
        assert all("connect" in message.lower() or "closed" in message.lower()
                   for attempts in failing.values() for _, message in attempts), failing
        attempts = max(n for found in failing.values() for n, _ in found)
        await api_unavailable(api, a.id)

        # ----- the store comes back -----------------------------------------------------
        proxied_store.proxy.restore()
        await skip_to(ts_env, due + timedelta(minutes=7))  # past every retry's back-off
        a_after = await asyncio.wait_for(a_answer, timeout=30)
        b, b_view = await asyncio.wait_for(b_start, timeout=30)
        assert next(g for g in a_after.gates if g.id == "checklist").done
        assert b_view.stage.value == "proposed"
        views = await converged(proxied_store.direct, [a, b, c])

    # Nothing lost, nothing done twice, one team responsible at every instant.
    state = check_store(proxied_store.direct, mailbox=mailbox)
    current = rows(proxied_store.direct)
    for tid, view in views.items():
        assert TransferView.model_validate(current[tid].view) == view, tid
    assert kinds(proxied_store.direct, a.id) == ["started", "gate:summary_authorised",
                                         "gate:checklist", "deadline_missed",
                                         "deadline_missed"]
    assert kinds(proxied_store.direct, b.id) == ["started"]
    assert kinds(proxied_store.direct, c.id) == ["started", "gate:summary_authorised",
                                         "gate:checklist", "gate:iro_informed",
                                         "gate:legal_status:care_order", "transferred",
                                         "deadline_missed"]
    assert (views[a.id].stage.value, views[a.id].responsible_team) == ("proposed", "sgcp")
    assert (views[c.id].stage.value, views[c.id].responsible_team) == ("transferred", "lac")
    # The changes decided during the outage emailed their people once each.
    sent = {(n.transfer_id, n.seq, n.recipient_id) for n in state.notifications}
    assert {(a.id, 4, "gateshead-sgcp-tm"), (a.id, 4, "gateshead-lac-tm"),
            (b.id, 1, "gateshead-lac-tm"), (c.id, 6, "gateshead-sgcp-tm"),
            (c.id, 6, "gateshead-lac-tm")} <= sent
    log.info("store outage: up to %d record_change attempts per write before the store "
             "returned (last failure: %s); %d events and %d emails, each once", attempts,
             next(iter(failing.values()))[0][1], sum(map(len, state.events.values())),
             len(state.notifications))
    api_engine.dispose()


# ----- the API when the store cannot serve ------------------------------------------------


async def test_api_answers_503_when_no_store_connection_is_free(
        ts_env: WorkflowEnvironment, proxied_store: Store, store_worker: Worker,
        postgres_url: str) -> None:
    # make_engine's PostgreSQL engine with a one-connection pool and a 1 s pool timeout, so
    # that the test can hold every connection and does not wait 30 s.
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sqlmodel.create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=0,
                                    pool_timeout=1)
    try:
        async with api_on(engine, ts_env, store_worker) as api:
            with engine.connect():  # every connection of the pool is busy
                answer = await api.get("/transfers/transfer-gateshead-C1",
                                       headers=token("lac-tm"))
            assert answer.status_code == 503, answer.text
            assert answer.json() == {"detail": UNAVAILABLE}
    finally:
        engine.dispose()


# ----- an action the store holds up: 504, then a retry with the same key ----------------------
# On the real dev server: the Java time-skipping server sometimes answers the Update's first
# call "accepted" before its deadline, after which the SDK polls for the outcome with no
# deadline at all, so the API's 504 cannot be relied on there. These tests need no clock.


@pytest.fixture
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=CONVERTER, ip="127.0.0.1",
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"))
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
async def dev_worker(dev_env: WorkflowEnvironment, proxied_store: Store,
                     mailbox: Mailbox) -> AsyncIterator[Worker]:
    async with proxied_worker(dev_env, proxied_store, mailbox) as w:
        yield w


async def action_held_up_by_the_store(
        env: WorkflowEnvironment, store: Store, worker: Worker, api_: httpx.AsyncClient,
        case_id: str) -> tuple[WorkflowHandle[Any, Any], httpx.Response]:
    """Inform the IRO (with a note) while the worker cannot reach the store: 504."""
    handle, _ = await start(env.client, worker, await env.get_current_time(), case_id=case_id)
    await converged(store.direct, [handle])
    store.proxy.cut()
    began = asyncio.get_running_loop().time()
    answer = await asyncio.wait_for(api_.post(
        f"/transfers/{handle.id}/actions/inform-iro", json={"note": "IRO told by phone"},
        headers={**token("sgcp-sw"), "Idempotency-Key": f"iro-{case_id}"}), timeout=30)
    waited = asyncio.get_running_loop().time() - began
    assert answer.status_code == 504, answer.text
    assert "same Idempotency-Key" in answer.json()["detail"]
    # Answered once the API's own deadline passed, not held for as long as the store is
    # down (generous: the machine may be busy; speed is for `make bench`).
    assert waited < api.actions.UPDATE_TIMEOUT.total_seconds() + 20, waited
    store.proxy.restore()
    return handle, answer


async def test_an_action_held_up_by_the_store_answers_504_and_its_retry_acts_once(
        dev_env: WorkflowEnvironment, proxied_store: Store, dev_worker: Worker,
        postgres_url: str, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.actions, "UPDATE_TIMEOUT", timedelta(seconds=2))
    api_engine = make_engine(postgres_url)  # the API reaches the store; the worker cannot
    try:
        async with api_on(api_engine, dev_env, dev_worker) as client:
            handle, _ = await action_held_up_by_the_store(dev_env, proxied_store, dev_worker,
                                                          client, "C7")
            views = await converged(proxied_store.direct, [handle])  # taken after all
            # The manager sends the same request again, as the 504 says: the answer is the
            # action's outcome, and it does not act again.
            again = await client.post(
                f"/transfers/{handle.id}/actions/inform-iro",
                json={"note": "IRO told by phone"},
                headers={**token("sgcp-sw"), "Idempotency-Key": "iro-C7"})
            assert again.status_code == 200, again.text
            assert TransferView.model_validate(again.json()) == views[handle.id]
            assert kinds(proxied_store.direct, handle.id) == ["started", "gate:iro_informed"]
            trail = (await client.get(f"/transfers/{handle.id}/events",
                                      headers=token("sgcp-tm"))).json()
            assert trail[-1]["note"] == "IRO told by phone"
        check_store(proxied_store.direct, mailbox=mailbox)
    finally:
        api_engine.dispose()


async def test_a_note_survives_an_action_that_answered_504(
        dev_env: WorkflowEnvironment, proxied_store: Store, dev_worker: Worker,
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 504 says the action may still be taken: when it is, its note is there, even if
    the manager never sends the request again. (Found by this test: the API deleted the
    note on any failure; since 2d59307 only on a refusal.)"""
    monkeypatch.setattr(api.actions, "UPDATE_TIMEOUT", timedelta(seconds=2))
    api_engine = make_engine(postgres_url)
    try:
        async with api_on(api_engine, dev_env, dev_worker) as client:
            handle, _ = await action_held_up_by_the_store(dev_env, proxied_store, dev_worker,
                                                          client, "C8")
            await converged(proxied_store.direct, [handle])  # the action was taken after all
            assert kinds(proxied_store.direct, handle.id) == ["started", "gate:iro_informed"]
            trail = (await client.get(f"/transfers/{handle.id}/events",
                                      headers=token("sgcp-tm"))).json()
            assert trail[-1]["note"] == "IRO told by phone"
    finally:
        api_engine.dispose()


# ----- an email accepted just before the store fails ----------------------------------------


class CuttingMailbox(Mailbox):
    """Cuts the store the moment the SMTP server accepts the first message: the outbox has
    handed the email over but cannot yet record that it did."""

    def __init__(self, proxy: TcpProxy) -> None:
        super().__init__()
        self.proxy = proxy
        self.armed = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        answer = await super().handle_DATA(server, session, envelope)
        if self.armed:
            self.armed = False
            self.proxy.cut()
        return answer


async def test_an_email_accepted_as_the_store_fails_is_sent_again_recognisably(
        ts_env: WorkflowEnvironment, proxied_store: Store) -> None:
    """The one window in which an email can go twice (the outbox's documented limit: SMTP
    has no two-phase commit): the server accepted it, and the store failed before the
    outbox recorded that. The retry sends it again with the same Message-ID and
    X-Caseflow-Key, so a mail system can drop the copy; everything else holds."""
    box = CuttingMailbox(proxied_store.proxy)
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    engine = proxied_store.engine()
    smtp = SmtpConfig(host="127.0.0.1", port=controller.port, username="", password="",
                      starttls=False, mail_from="case-transfers@test.example")
    try:
        with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
            async with build_worker(ts_env.client, task_queue=f"tq-{uuid.uuid4()}",
                                    engine=engine, smtp=smtp, executor=executor) as w:
                handle, _ = await start(ts_env.client, w, await ts_env.get_current_time(),
                                        case_id="C8")
                await eventually_async(lambda: not box.armed)
                assert proxied_store.proxy.is_cut
                proxied_store.proxy.restore()
                await skip_to(ts_env, await ts_env.get_current_time() + timedelta(minutes=2))
                await converged(proxied_store.direct, [handle])
    finally:
        controller.stop()
        engine.dispose()
    state = check_store(proxied_store.direct)  # the store: every event and email row once, all sent
    copies = [m for _, m in box.messages]
    assert len(copies) == 2 and len(state.notifications) == 1
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"] == message_id(
        state.notifications[0].key)
    assert copies[0]["X-Caseflow-Key"] == copies[1]["X-Caseflow-Key"]


async def eventually_async(until: Any, seconds: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not until():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)
