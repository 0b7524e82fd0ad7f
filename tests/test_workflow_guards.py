"""The workflow checks who starts and who recalculates, whoever the client is.

A client reaching Temporal directly (not through the API, which checks the same) is
refused: a social worker's `recalculate`, and a start by someone who may not start the
pathway. On the time-skipping server, with the real worker and case store.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from api.starting import open_transfer, transfer_id_for
from models.protocol import Role
from models.tables import TransferEvent
from models.transfer import Actor, Recalculation
from tests.scenario import deadline
from tests.transfers import GATESHEAD, LAC_TM, SGCP_SW, SGCP_TM, events, start
from workflows.case_transfer import CaseTransferWorkflow

SGCP_SM = Actor(staff_id="gateshead-sgcp-sm", role=Role.service_manager, team="sgcp")
DIRECTOR = Actor(staff_id="gateshead-dcs", role=Role.director, team="directorate")


def refusal(exc: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> tuple[str | None, str]:
    cause = exc.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.type, cause.message


def asked_by(actor: Actor | None, staff_id: str | None = None) -> Recalculation:
    # The reason stays in the case store: the Update carries only its note's ref.
    return Recalculation(note_ref="transfer-gateshead-C1:recalculate:r1",
                         requested_by=staff_id or (actor.staff_id if actor else "someone"),
                         actor=actor)


@pytest.mark.parametrize(("asker", "staff_id", "kind", "words"), [
    (SGCP_SW, None, "NotPermitted", "you are signed in as gateshead-sgcp-sw"),
    (SGCP_TM, None, "NotPermitted", "may recalculate the deadlines"),
    (LAC_TM, None, "NotPermitted", "may recalculate the deadlines"),
    (None, None, "NotPermitted", "Say who asks for the recalculation"),
    (SGCP_SM, "gateshead-lac-sm", "InvalidInput", "asked by gateshead-lac-sm but signed by"),
])
async def test_a_recalculation_by_someone_who_may_not_is_refused(
        ts_env, worker, directory_engine, asker, staff_id, kind, words):
    now = await ts_env.get_current_time()
    handle, view = await start(ts_env.client, worker, now)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(CaseTransferWorkflow.recalculate,
                                    asked_by(asker, staff_id), id=str(uuid.uuid4()))
    found_kind, message = refusal(refused)
    assert found_kind == kind
    assert words in message
    after = await handle.query(CaseTransferWorkflow.view)
    assert deadline(after, "transfer_by") == deadline(view, "transfer_by")
    assert not any(e.kind == "recalculated" for e in events(directory_engine, view.run_id))
    await handle.terminate("test over")


@pytest.mark.parametrize("asker", [SGCP_SM, DIRECTOR])
async def test_a_service_manager_or_senior_leader_may_recalculate_and_is_recorded(
        ts_env, worker, directory_engine, asker):
    now = await ts_env.get_current_time()
    handle, _ = await start(ts_env.client, worker, now)
    view = await handle.execute_update(CaseTransferWorkflow.recalculate, asked_by(asker),
                                       id=str(uuid.uuid4()))
    (recorded,) = [e for e in events(directory_engine, view.run_id) if e.kind == "recalculated"]
    assert (recorded.actor_id, recorded.actor_role) == (asker.staff_id, asker.role.value)
    assert f"asked by {asker.staff_id} (" in recorded.summary
    await handle.terminate("test over")


async def test_a_start_by_someone_who_may_not_start_is_refused_and_leaves_nothing(
        ts_env, worker, directory_engine):
    now = await ts_env.get_current_time()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await open_transfer(
            ts_env.client, task_queue=worker.task_queue, protocol=GATESHEAD,
            pathway_id="sgcp-to-lac", case_id="C9", children=["C9"], anchor_at=now,
            agreed_transfer_date=None, started_by=SGCP_SW, request_id=str(uuid.uuid4()),
            rpc_timeout=timedelta(seconds=30))
    kind, message = refusal(refused)
    assert kind == "NotPermitted"
    assert message.startswith("Only the Team Manager of sgcp may start a sgcp-to-lac transfer")
    # The run itself fails before planning, recording or sending anything.
    transfer_id = transfer_id_for("gateshead", "C9")
    handle = ts_env.client.get_workflow_handle(transfer_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "NotPermitted"
    with Session(directory_engine) as session:
        assert not session.exec(select(TransferEvent).where(
            TransferEvent.transfer_id == transfer_id)).all()
    # It blocks nothing: the Team Manager starts the case's transfer afterwards.
    opened = await open_transfer(
        ts_env.client, task_queue=worker.task_queue, protocol=GATESHEAD,
        pathway_id="sgcp-to-lac", case_id="C9", children=["C9"],
        anchor_at=await ts_env.get_current_time(), agreed_transfer_date=None,
        started_by=SGCP_TM, request_id=str(uuid.uuid4()))
    assert opened.view.stage.value == "proposed"
    await ts_env.client.get_workflow_handle(transfer_id).terminate("test over")
