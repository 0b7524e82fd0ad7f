"""The worker: runs CaseTransferWorkflow, WeeklyMeetingWorkflow and their activities.

`build_worker()` is what tests reuse; `python worker.py` connects, prepares
the namespace (search attributes, retention, the weekly meetings' schedules)
and runs until SIGTERM / Ctrl-C, letting in-flight activities finish
(graceful shutdown) so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.case_store import CaseStoreActivities
from activities.deadlines import DeadlinePlanner
from activities.outbox import OutboxDispatcher, SmtpConfig
from activities.weekly_meeting import WeeklyMeetingActivities
from config import get_settings
from database import make_engine
from models.external_addresses import ExternalAddresses, load_external_addresses
from models.protocol_files import load_protocols
from ops.staff.guard import DemoStaffInProduction, refuse_demo_staff
from temporal_setup import connect, prepare_namespace
from workflows.case_transfer import CaseTransferWorkflow
from workflows.weekly_meeting import WeeklyMeetingWorkflow

ACTIVITY_THREADS = 20


def build_worker(client: Client, *, task_queue: str, engine: Engine, smtp: SmtpConfig,
                 executor: ThreadPoolExecutor,
                 addresses: ExternalAddresses | None = None) -> Worker:
    if addresses is None:
        addresses = load_external_addresses(get_settings().external_addresses_file)
    store = CaseStoreActivities(engine, addresses)
    outbox = OutboxDispatcher(engine, smtp)
    meeting = WeeklyMeetingActivities(engine)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CaseTransferWorkflow, WeeklyMeetingWorkflow],
        activities=[store.record_change, outbox.deliver, DeadlinePlanner().plan,
                    meeting.plan, meeting.prepare_agenda],
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=timedelta(seconds=20),
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        refuse_demo_staff(settings, engine)
    except DemoStaffInProduction:
        engine.dispose()
        raise
    client = await connect(settings)
    await prepare_namespace(client, settings, load_protocols(settings.protocols_dir))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        worker = build_worker(client, task_queue=settings.temporal_task_queue, engine=engine,
                              smtp=SmtpConfig.from_settings(settings), executor=executor)
        async with worker:
            logging.getLogger("worker").info("worker running on task queue %s",
                                             settings.temporal_task_queue)
            await stop.wait()
    engine.dispose()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except DemoStaffInProduction as exc:
        sys.exit(str(exc))  # a sentence for the operator, not a traceback
