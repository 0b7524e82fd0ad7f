"""How a transfer is started in Temporal: input, business-key id, search attributes, summary."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from models import search_attributes as sa
from models.protocol import Protocol
from models.transfer import Actor, Opened, Stage, TransferInput
from workflows.case_transfer import CaseTransferWorkflow


def transfer_id_for(authority: str, case_id: str) -> str:
    """The business key: at most one open transfer per case."""
    return f"transfer-{authority}-{case_id}"


async def open_transfer(
    client: Client, *, task_queue: str, protocol: Protocol, pathway_id: str, case_id: str,
    children: list[str], anchor_at: datetime, agreed_transfer_date: date | None,
    started_by: Actor, request_id: str, rpc_timeout: timedelta | None = None,
) -> Opened:
    """Start the transfer (or find the open one for this case) and wait for its plan."""
    pathway = protocol.pathways[pathway_id]
    transfer_id = transfer_id_for(protocol.authority, case_id)
    inp = TransferInput(
        transfer_id=transfer_id, request_id=request_id, case_id=case_id,
        children=children or [case_id], authority=protocol.authority,
        protocol_version=protocol.version, pathway_id=pathway_id, pathway=pathway,
        calendar=protocol.calendar, anchor_at=anchor_at,
        agreed_transfer_date=agreed_transfer_date, started_by=started_by,
    )
    start = WithStartWorkflowOperation(
        CaseTransferWorkflow.run, inp, id=transfer_id, task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(sa.CASE_ID, case_id),
            SearchAttributePair(sa.AUTHORITY, protocol.authority),
            SearchAttributePair(sa.PATHWAY, pathway_id),
            SearchAttributePair(sa.FROM_TEAM, pathway.sending),
            SearchAttributePair(sa.TO_TEAM, pathway.receiving),
            SearchAttributePair(sa.STAGE, Stage.proposed.value),
            SearchAttributePair(sa.RESPONSIBLE_TEAM, pathway.sending),
        ]),
        static_summary=f"Case {case_id}: {protocol.authority} {pathway_id} "
                       f"({pathway.sending} → {pathway.receiving})",
    )
    opened: Opened = await client.execute_update_with_start_workflow(
        CaseTransferWorkflow.opened_plan, start_workflow_operation=start,
        id=f"open:{request_id}",
        rpc_timeout=rpc_timeout)
    return opened
