"""The outbox dispatcher against a real SMTP server (aiosmtpd), no mocks."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from aiosmtpd.controller import Controller
from sqlmodel import Session, SQLModel, col, select

from activities.outbox import OutboxDispatcher, SmtpConfig, message_id
from database import make_engine
from models.tables import Notification  # importing it registers the tables
from models.transfer import DeliveryRequest

MAIL_FROM = "case-transfers@council.example"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Collector:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=message_from_bytes(envelope.original_content, policy=default),
            )
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SmtpServer:
    """An aiosmtpd server on a fixed free port, started and stopped on demand."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = Collector()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()  # returns once the server answers

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sqlalchemy.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


def dispatcher(engine: sqlalchemy.Engine, port: int) -> OutboxDispatcher:
    config = SmtpConfig(
        host="127.0.0.1", port=port, username="", password="", starttls=False,
        mail_from=MAIL_FROM,
    )
    return OutboxDispatcher(engine, config)


def add_notifications(
    engine: sqlalchemy.Engine, run_id: str, seq: int, staff: list[str]
) -> list[str]:
    keys = []
    with Session(engine) as session:
        for staff_id in staff:
            key = f"{run_id}:{seq}:{staff_id}"
            session.add(
                Notification(
                    key=key, run_id=run_id, seq=seq, transfer_id=f"T-{run_id}",
                    recipient_id=staff_id, recipient_role="team_manager",
                    recipient_team="north", email=f"{staff_id}@council.example",
                    subject=f"Transfer T-{run_id}: change {seq}",
                    body=f"Change {seq} for {staff_id}.\n",
                    created_at=datetime.now(UTC),
                )
            )
            keys.append(key)
        session.commit()
    return keys


def rows(engine: sqlalchemy.Engine) -> dict[str, Notification]:
    with Session(engine) as session:
        found = session.exec(select(Notification).order_by(col(Notification.id))).all()
        return {row.key: row for row in found}


def keys_received(server: SmtpServer) -> list[str]:
    return [str(r.message["X-Caseflow-Key"]) for r in server.received]


def test_delivers_each_row_of_the_change_once(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    wanted = add_notifications(engine, "run1", 2, ["ann", "bob"])
    other_seq = add_notifications(engine, "run1", 3, ["ann"])
    other_run = add_notifications(engine, "run2", 2, ["cat"])

    sent = dispatcher(engine, smtp_server.port).deliver(DeliveryRequest(run_id="run1", seq=2))

    assert sent == 2
    assert keys_received(smtp_server) == wanted
    for received, key, staff_id in zip(smtp_server.received, wanted, ["ann", "bob"], strict=True):
        msg = received.message
        assert received.mail_from == MAIL_FROM
        assert received.rcpt_tos == [f"{staff_id}@council.example"]
        assert msg["From"] == MAIL_FROM
        assert msg["To"] == f"{staff_id}@council.example"
        assert msg["Subject"] == "Transfer T-run1: change 2"
        assert msg["Message-ID"] == message_id(key)
        assert msg["X-Caseflow-Key"] == key
        assert msg.get_content_type() == "text/plain"
        assert msg.get_content().replace("\r\n", "\n") == f"Change 2 for {staff_id}.\n"

    stored = rows(engine)
    for key in wanted:
        assert stored[key].sent_at is not None
        assert stored[key].attempts == 1
        assert stored[key].last_error is None
    for key in other_seq + other_run:
        assert stored[key].sent_at is None
        assert stored[key].attempts == 0


def test_message_id_is_deterministic_and_distinct() -> None:
    assert message_id("run1:2:ann") == message_id("run1:2:ann")
    assert message_id("run1:2:ann") != message_id("run1:2:bob")
    assert message_id("run1:2:ann").endswith("@caseflow>")


def test_second_deliver_sends_nothing_more(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    keys = add_notifications(engine, "run1", 1, ["ann", "bob"])
    outbox = dispatcher(engine, smtp_server.port)
    request = DeliveryRequest(run_id="run1", seq=1)

    assert outbox.deliver(request) == 2
    assert outbox.deliver(request) == 0

    assert keys_received(smtp_server) == keys
    assert all(row.attempts == 1 for row in rows(engine).values())


def test_no_rows_does_not_connect(engine: sqlalchemy.Engine, smtp_server: SmtpServer) -> None:
    # The server is not started: a connection attempt would raise.
    assert dispatcher(engine, smtp_server.port).deliver(DeliveryRequest(run_id="x", seq=1)) == 0


def test_smtp_down_records_the_error_then_a_retry_delivers_once(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    keys = add_notifications(engine, "run1", 1, ["ann", "bob"])
    outbox = dispatcher(engine, smtp_server.port)
    request = DeliveryRequest(run_id="run1", seq=1)

    with pytest.raises(OSError):
        outbox.deliver(request)

    stored = rows(engine)
    for key in keys:
        assert stored[key].sent_at is None
        assert stored[key].attempts == 1
        error = stored[key].last_error
        assert error is not None
        assert error.startswith("ConnectionRefusedError")
        assert "@" not in error

    smtp_server.start()
    assert outbox.deliver(request) == 2
    assert outbox.deliver(request) == 0

    assert keys_received(smtp_server) == keys
    stored = rows(engine)
    for key in keys:
        assert stored[key].sent_at is not None
        assert stored[key].attempts == 2
        assert stored[key].last_error is None


class RefuseRecipient(Collector):
    """Accepts the first message, then refuses the recipient of the next."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("bob@"):
            return "550 5.1.1 <bob@council.example>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_refused_recipient_keeps_what_was_sent_and_hides_the_address(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.handler = RefuseRecipient()
    smtp_server.start()
    ann, bob, cat = add_notifications(engine, "run1", 1, ["ann", "bob", "cat"])

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        dispatcher(engine, smtp_server.port).deliver(DeliveryRequest(run_id="run1", seq=1))

    assert keys_received(smtp_server) == [ann]
    stored = rows(engine)
    assert stored[ann].sent_at is not None
    for key in (bob, cat):
        assert stored[key].sent_at is None
        assert stored[key].attempts == 1
        error = stored[key].last_error
        assert error is not None
        assert error.startswith("SMTPRecipientsRefused")
        assert "bob" not in error


def test_deliver_pending_sweeps_every_unsent_row(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    already = add_notifications(engine, "run1", 1, ["ann"])
    outbox = dispatcher(engine, smtp_server.port)
    assert outbox.deliver(DeliveryRequest(run_id="run1", seq=1)) == 1
    pending = (
        add_notifications(engine, "run1", 2, ["ann", "bob"])
        + add_notifications(engine, "run2", 1, ["cat"])
    )

    assert outbox.deliver_pending(limit=2) == 2
    assert outbox.deliver_pending() == 1
    assert outbox.deliver_pending() == 0

    assert keys_received(smtp_server) == already + pending
    assert all(row.sent_at is not None for row in rows(engine).values())
