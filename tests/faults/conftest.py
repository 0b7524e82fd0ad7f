"""Fixtures for the fault suite: the real stack as child processes, a real SMTP server.

`stack` runs the Temporal dev server (SQLite file, WAL), the worker and the API as
processes (ops.stack.Stack) on free ports of 127.0.0.1, on a SQLite case store in the
test's tmp_path, emailing `smtp`, an aiosmtpd server that records every message it
accepts (TimedMailbox, a tests.mail.Mailbox) and can be taken down and brought back on the
same port.
Everything is stopped when the test ends, pass or fail; a failing test shows the tail
of each child's log.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy
from aiosmtpd.controller import Controller
from sqlmodel import Session, col, select
from temporalio.client import Client

from database import make_engine
from models.tables import Notification, Transfer, TransferEvent
from ops.demo import demo_token
from ops.stack import Stack
from payload_codec import data_converter
from tests.faults.invariants import caseflow_key
from tests.mail import Mailbox, free_port

T = TypeVar("T")

# A request is sent again (same Idempotency-Key) after these answers: the stack is down or
# recovering. 504: the transfer did not answer within the API's update timeout.
RETRY_STATUSES = {502, 503, 504}
FOLD = re.compile(r"\r?\n(?=[ \t])")  # RFC 5322 unfolding: drop a CRLF before white space


@dataclass
class TimedMailbox(Mailbox):
    """A Mailbox that also notes when (UTC) it accepted each message, and reads headers as
    a mail client does: unfolded, without the space after the colon. (Python's sender folds
    a long X-Caseflow-Key -- e.g. the Safeguarding Hub's longer staff ids -- right after the
    colon; tests.mail.Mailbox would read it back as '\\r\\n <key>'.)"""

    accepted_at: list[datetime] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.accepted_at.append(datetime.now(UTC))
        parsed = message_from_bytes(envelope.content)
        for name, value in list(parsed.items()):
            parsed.replace_header(name, FOLD.sub("", str(value)).strip())
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def keys(self) -> Counter[str]:
        return Counter(caseflow_key(m) for _, m in self.messages)

    def first_copies(self) -> Mailbox:
        """What a recipient's mail system that drops repeated Message-IDs shows: the first
        copy of each message (for a fault that may make the outbox send one again)."""
        seen: set[str] = set()
        box = Mailbox(port=self.port)
        for rcpts, message in self.messages:
            if str(message["Message-ID"]) not in seen:
                seen.add(str(message["Message-ID"]))
                box.messages.append((rcpts, message))
        return box


class SmtpServer:
    """The Mailbox behind an aiosmtpd Controller that can be stopped and started again
    on the same port (a mail server outage)."""

    def __init__(self) -> None:
        self.box = TimedMailbox()
        self.port = free_port()
        self.box.port = self.port
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        assert self._controller is None
        controller = Controller(self.box, hostname="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:  # the port may linger a moment after a stop
            try:
                controller.start()
                break
            except Exception:  # noqa: BLE001
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


StackFactory = Callable[..., Stack]


@pytest.fixture
def make_stack(tmp_path: Path, smtp: SmtpServer) -> Iterator[StackFactory]:
    """`make_stack(env={...})`: the whole system as processes, up and ready, on a SQLite
    store in tmp_path; stopped (and its logs shown if the test fails) at the end."""
    made: list[Stack] = []

    def make(env: dict[str, str] | None = None) -> Stack:
        workdir = tmp_path / f"stack{len(made)}"
        s = Stack(workdir, database_url=f"sqlite:///{workdir / 'caseflow.db'}",
                  smtp_port=smtp.port, task_queue=f"faults-{uuid.uuid4().hex[:8]}", env=env)
        made.append(s)
        s.prepare_store()
        s.start_temporal()
        s.start_worker()
        s.start_api()
        return s

    try:
        yield make
    finally:
        for s in made:
            s.close()
            for name in ("temporal", "worker", "api"):
                # Shown by pytest only when the test fails.
                print(f"----- {s.workdir.name}/{name}.log (tail) -----\n"  # noqa: T201
                      f"{s.log_tail(name, 30)}")


@pytest.fixture
def stack(make_stack: StackFactory) -> Stack:
    return make_stack()


@pytest.fixture
def store(stack: Stack) -> Iterator[sqlalchemy.Engine]:
    engine = make_engine(stack.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def temporal(stack: Stack) -> AsyncIterator[Client]:
    """A client of the stack's Temporal server (to read histories)."""
    client = await Client.connect(stack.temporal_address,
                                  data_converter=data_converter(stack.payload_keys))
    yield client


# ---------------------------------------------------------------------------------------
# Managers over HTTP, retrying as a careful client does.
# ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: Any
    attempts: int
    statuses: list[int] = field(default_factory=list)  # every attempt's status (0: no answer)


CHECKLIST = ["chronology_up_to_date", "recording_up_to_date", "relationships_up_to_date",
             "genogram_current", "observations_up_to_date", "assessments_up_to_date"]

# Gateshead SGCP -> LAC, from start to allocation: (action, who, body, event kind).
LIFECYCLE: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("authorise-summary", "sgcp-tm", None, "gate:summary_authorised"),
    ("complete-checklist", "sgcp-tm", {"items": CHECKLIST}, "gate:checklist"),
    ("record-care-order", "sgcp-tm", None, "gate:legal_status:care_order"),
    # The last requirement: the case moves at once (so the Service Manager, whose email waits
    # for the summary, the audit and the IRO while the case has not moved, is not due one).
    ("inform-iro", "sgcp-sw", {"note": "IRO told by phone"}, "gate:iro_informed"),
    ("allocate", "lac-tm", {"worker_id": "W1"}, "allocated"),
]
# started, the two breaches at once (the transfer's and the transfer meeting's deadlines
# passed before the start), the transfer as the last requirement is met after the agreed date.
AUTOMATIC = ["started", "deadline_missed", "deadline_missed", "transferred"]
# started -> LAC TM; each breach -> both TMs; transferred -> both TMs; allocated -> SGCP TM.
EMAILS_PER_TRANSFER = 8


class Managers:
    """Sends requests as demo staff; each is retried with the same Idempotency-Key until
    the API gives a definitive answer (anything but a connection error, 502, 503 or 504)."""

    def __init__(self, base_url: str, *, retry_for: float = 150.0) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30.0))
        self.retry_for = retry_for
        self.retried: list[str] = []  # Idempotency-Keys that needed more than one attempt

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, method: str, path: str, staff_id: str, *, key: str | None = None,
                   json: Any = None) -> Answer:
        headers = {"Authorization": f"Bearer {demo_token(staff_id)}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + self.retry_for
        statuses: list[int] = []
        while True:
            try:
                response = await self.http.request(method, path, headers=headers, json=json)
            except httpx.TransportError:
                statuses.append(0)
            else:
                statuses.append(response.status_code)
                if response.status_code not in RETRY_STATUSES:
                    if len(statuses) > 1 and key is not None:
                        self.retried.append(key)
                    body = response.json() if response.content else None
                    return Answer(response.status_code, body, len(statuses), statuses)
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} ({key}) got no answer: {statuses}")
            await asyncio.sleep(0.25)

    async def gateshead_lifecycle(self, case: str, anchor_at: datetime) -> list[Answer]:
        """Start a Gateshead SGCP -> LAC transfer and take it to allocation (LIFECYCLE),
        each request with an Idempotency-Key of its own; return the answers, all 2xx."""
        tid = f"transfer-gateshead-{case}"
        answers = [await self.send(
            "POST", "/transfers", "gateshead-sgcp-tm", key=f"start-{case}",
            json={"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": case,
                  "anchor_at": anchor_at.isoformat()})]
        assert answers[-1].status == 201, (tid, "start", answers[-1])
        for action, who, body, _ in LIFECYCLE:
            answers.append(await self.send("POST", f"/transfers/{tid}/actions/{action}",
                                           f"gateshead-{who}", key=f"{case}-{action}",
                                           json=body))
            assert answers[-1].status == 200, (tid, action, answers[-1])
        return answers


@pytest.fixture
async def managers(stack: Stack) -> AsyncIterator[Managers]:
    client = Managers(stack.api_url)
    yield client
    await client.aclose()


# ---------------------------------------------------------------------------------------
# Waiting for effects (polling, never sleeping for a timer).
# ---------------------------------------------------------------------------------------


async def until(probe: Callable[[], T | Awaitable[T]], ok: Callable[[T], bool], *,
                timeout: float, what: str, every: float = 0.2) -> T:
    """Poll `probe` until `ok(value)`; fail naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
            value = await value
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout:.0f} s; last: {value!r}")
        await asyncio.sleep(every)


def events_by_transfer(engine: sqlalchemy.Engine) -> dict[str, list[TransferEvent]]:
    with Session(engine) as session:
        rows = session.exec(select(TransferEvent).order_by(col(TransferEvent.transfer_id),
                                                           col(TransferEvent.seq))).all()
    found: dict[str, list[TransferEvent]] = {}
    for row in rows:
        found.setdefault(row.transfer_id, []).append(row)
    return found


def stages(engine: sqlalchemy.Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {t.transfer_id: t.stage for t in session.exec(select(Transfer)).all()}


def notifications(engine: sqlalchemy.Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification).order_by(col(Notification.id))).all())


def all_sent(engine: sqlalchemy.Engine) -> bool:
    rows = notifications(engine)
    return bool(rows) and all(n.sent_at is not None for n in rows)
