"""The bare baselines: what plain Temporal does for the same shape of work, and their worker.

* `BareTransfer`: a "transfer-shaped" workflow: a no-op activity, three Updates
  (the managers' actions, each a no-op handler with a trivial validator), a
  second no-op activity, done. Figures 1 and 2.
* `BareDeadline`: a durable timer to an absolute instant, then an activity that
  sends one email over SMTP. Figure 3 (the deadline burst).
* `BareParked`: one no-op activity, then a timer weeks away. Figure 4 (capacity).

`python -m bench.bare --address HOST:PORT --task-queue Q --smtp-port P` runs a
worker for all three (same executor size and activity concurrency as the
project's worker) until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import smtplib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

ACTIVITY_THREADS = 20  # as worker.ACTIVITY_THREADS
TIMEOUT = timedelta(seconds=30)


@dataclass
class SmtpTarget:
    host: str
    port: int


class BareActivities:
    def __init__(self, smtp: SmtpTarget) -> None:
        self._smtp = smtp

    @activity.defn(name="bare_noop")
    def noop(self, step: str) -> str:
        return step

    @activity.defn(name="bare_send_mail")
    def send_mail(self, key: str) -> None:
        msg = EmailMessage()
        msg["From"] = "bare@bench.example"
        msg["To"] = "manager@bench.example"
        msg["Subject"] = f"[bench] deadline missed: {key}"
        msg.set_content(f"Bare deadline {key} missed.")
        with smtplib.SMTP(self._smtp.host, self._smtp.port, timeout=10) as smtp:
            smtp.send_message(msg)


@workflow.defn
class BareTransfer:
    """Three messages, two no-op activities: the shape of a transfer, with nothing in it."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    @workflow.run
    async def run(self, updates: int) -> list[str]:
        await workflow.execute_activity("bare_noop", "opened", start_to_close_timeout=TIMEOUT)
        await workflow.wait_condition(lambda: len(self.actions) >= updates)
        await workflow.execute_activity("bare_noop", "closed", start_to_close_timeout=TIMEOUT)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.actions

    @workflow.update
    def act(self, action: str) -> int:
        self.actions.append(action)
        return len(self.actions)

    @act.validator
    def _validate_act(self, action: str) -> None:
        if action in self.actions:
            raise ValueError(f"{action} already taken")


@workflow.defn
class BareDeadline:
    """Sleep until an absolute instant, then email (the bare form of a deadline breach)."""

    @workflow.run
    async def run(self, due_epoch: float, key: str) -> None:
        due = datetime.fromtimestamp(due_epoch, UTC)
        wait = due - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait)
        await workflow.execute_activity("bare_send_mail", key, start_to_close_timeout=TIMEOUT)


@workflow.defn
class BareParked:
    """Opened (one activity), then parked on a timer weeks away, as an open transfer is."""

    @workflow.run
    async def run(self, days: int) -> None:
        await workflow.execute_activity("bare_noop", "opened", start_to_close_timeout=TIMEOUT)
        await workflow.sleep(timedelta(days=days))


def build_bare_worker(client: Client, task_queue: str, smtp: SmtpTarget,
                      executor: ThreadPoolExecutor) -> Worker:
    acts = BareActivities(smtp)
    return Worker(client, task_queue=task_queue,
                  workflows=[BareTransfer, BareDeadline, BareParked],
                  activities=[acts.noop, acts.send_mail], activity_executor=executor,
                  max_concurrent_activities=ACTIVITY_THREADS,
                  graceful_shutdown_timeout=timedelta(seconds=5))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--smtp-port", type=int, default=8025)
    args = parser.parse_args()
    client = await Client.connect(args.address, namespace=args.namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        async with build_bare_worker(client, args.task_queue,
                                     SmtpTarget("127.0.0.1", args.smtp_port), executor):
            print("bare worker running", flush=True)  # noqa: T201 - the parent waits for it
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
