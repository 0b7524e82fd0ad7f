"""Helpers for driving Gateshead transfers in tests."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.deps import AppState
from api.main import create_app
from api.starting import open_transfer
from config import Settings
from models.protocol import Role
from models.protocol_files import load_protocol, load_protocols
from models.tables import Notification, TransferEvent
from models.transfer import Actor, GateAction, Stage, TransferView
from workflows.case_transfer import CaseTransferWorkflow

GATESHEAD = load_protocol(Path(__file__).parent.parent / "protocols" / "gateshead.yaml")
SGCP_TO_LAC = GATESHEAD.pathways["sgcp-to-lac"]
CHECKLIST = list(SGCP_TO_LAC.gates["checklist"].items)

SGCP_TM = Actor(staff_id="gateshead-sgcp-tm", role=Role.team_manager, team="sgcp")
SGCP_SW = Actor(staff_id="gateshead-sgcp-sw", role=Role.social_worker, team="sgcp")
LAC_TM = Actor(staff_id="gateshead-lac-tm", role=Role.team_manager, team="lac")
LAC_SW = Actor(staff_id="gateshead-lac-sw", role=Role.social_worker, team="lac")

T = TypeVar("T")


@asynccontextmanager
async def api_on(engine: sqlalchemy.Engine, env: WorkflowEnvironment, worker: Worker,
                 **more: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API in process on `engine`, acting through `worker`'s task queue (with settings
    `more`, e.g. an identity provider); an exception in the app answers 500, as a real
    server would."""
    settings = Settings(temporal_task_queue=worker.task_queue, **more)
    app = create_app(AppState(settings=settings, engine=engine, temporal=env.client,
                              protocols=load_protocols(settings.protocols_dir)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api",
                                     timeout=60) as client:
            yield client


async def start(client: Client, worker: Worker, anchor_at: datetime, *, case_id: str = "C1",
                agreed: date | None = None, request_id: str | None = None
                ) -> tuple[WorkflowHandle[Any, Any], TransferView]:
    opened = await open_transfer(
        client, task_queue=worker.task_queue, protocol=GATESHEAD, pathway_id="sgcp-to-lac",
        case_id=case_id, children=[case_id], anchor_at=anchor_at, agreed_transfer_date=agreed,
        started_by=SGCP_TM, request_id=request_id or str(uuid.uuid4()))
    return client.get_workflow_handle_for(CaseTransferWorkflow.run, opened.view.transfer_id), \
        opened.view


async def gate(handle: WorkflowHandle[Any, Any], action: str, actor: Actor,
               update_id: str | None = None, **fields: Any) -> TransferView:
    result: TransferView = await handle.execute_update(
        CaseTransferWorkflow.complete_gate, GateAction(action=action, actor=actor, **fields),
        id=update_id or str(uuid.uuid4()))
    return result


async def requirements(handle: WorkflowHandle[Any, Any]) -> None:
    """Every requirement of SGCP -> LAC: a Care Order, the summary, the audit, the IRO told."""
    await gate(handle, "record-care-order", SGCP_TM)
    await requirements_but_the_legal_status(handle)


async def requirements_but_the_legal_status(handle: WorkflowHandle[Any, Any]) -> None:
    """The summary, the audit and the IRO told: what the Service Manager's email waits for."""
    await gate(handle, "authorise-summary", SGCP_TM)
    await gate(handle, "complete-checklist", SGCP_TM, items=CHECKLIST)
    await gate(handle, "inform-iro", SGCP_SW)


async def eventually(probe: Callable[[], T], until: Callable[[T], bool],
                     seconds: float = 15) -> T:
    """Poll until `until(probe())`: activities run in real time even while virtual time is held."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = probe()
        if until(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached; last value: {value!r}")
        await asyncio.sleep(0.05)


def events(engine: sqlalchemy.Engine, run_id: str) -> list[TransferEvent]:
    with Session(engine) as session:
        return list(session.exec(select(TransferEvent).where(TransferEvent.run_id == run_id)
                                 .order_by(col(TransferEvent.seq))))


def outbox(engine: sqlalchemy.Engine, run_id: str) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification).where(Notification.run_id == run_id)
                                 .order_by(col(Notification.id))))


async def skip_to(env: Any, moment: datetime) -> None:
    """Move the time-skipping server's clock to `moment` (it never goes back)."""
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


async def wait_for_stage(handle: WorkflowHandle[Any, Any], stage: Stage) -> TransferView:
    """Query until the workflow has taken its timer's turn and reached `stage`."""
    for _ in range(300):
        view: TransferView = await handle.query(CaseTransferWorkflow.view)
        if view.stage is stage:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"stage stayed {view.stage.value}, expected {stage.value}")


HISTORIES = Path(__file__).parent / "histories"


async def keep_history(handle: WorkflowHandle[Any, Any] | None, name: str) -> None:
    """With RECORD_HISTORIES=1, save this run's history for the replay tests."""
    assert handle is not None
    if os.environ.get("RECORD_HISTORIES") == "1":
        history = await handle.fetch_history()
        path = HISTORIES / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(history.to_json())
