"""The outbox dispatcher against a real SMTP server (aiosmtpd), no mocks."""

from __future__ import annotations

import smtplib
import socket
import time
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

from activities import outbox as outbox_module
from activities.outbox import (
    OutboxDispatcher,
    SmtpConfig,
    message_id,
)
from database import make_engine
from models.tables import Notification  # importing it registers the tables
from models.transfer import DeliveryRequest

MAIL_FROM = "case-transfers@council.example"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: Any = None  # the client's address and port: one per connection


@dataclass
class Collector:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=message_from_bytes(envelope.original_content, policy=default),
                peer=session.peer,
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


# --------------------------------------------------------------------------- connections


def connections(server: SmtpServer) -> int:
    return len({r.peer for r in server.received})


def test_one_connection_serves_several_deliveries(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    outbox = dispatcher(engine, smtp_server.port)
    keys = []
    for seq in (1, 2, 3):
        keys += add_notifications(engine, "run1", seq, ["ann", "bob"])
        assert outbox.deliver(DeliveryRequest(run_id="run1", seq=seq)) == 2
    assert keys_received(smtp_server) == keys
    assert connections(smtp_server) == 1
    outbox.close()


def test_a_connection_the_server_dropped_is_replaced(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    outbox = dispatcher(engine, smtp_server.port)
    first = add_notifications(engine, "run1", 1, ["ann"])
    assert outbox.deliver(DeliveryRequest(run_id="run1", seq=1)) == 1
    smtp_server.stop()  # the kept connection is closed by the server
    smtp_server.start()
    second = add_notifications(engine, "run1", 2, ["ann", "bob"])

    assert outbox.deliver(DeliveryRequest(run_id="run1", seq=2)) == 2

    assert keys_received(smtp_server) == first + second
    stored = rows(engine)
    assert all(r.attempts == 1 and r.last_error is None for r in stored.values())
    assert connections(smtp_server) == 2


def test_connections_are_renewed_after_some_messages_and_when_idle(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_server.start()
    monkeypatch.setattr(outbox_module, "SMTP_MESSAGES_PER_CONNECTION", 2)
    outbox = dispatcher(engine, smtp_server.port)
    keys = add_notifications(engine, "run1", 1, ["ann", "bob", "cat", "dan", "eve"])
    assert outbox.deliver(DeliveryRequest(run_id="run1", seq=1)) == 5
    assert keys_received(smtp_server) == keys
    assert connections(smtp_server) == 3  # 2 + 2 + 1

    monkeypatch.setattr(outbox_module, "SMTP_IDLE_SECONDS", 0.0)
    add_notifications(engine, "run1", 2, ["ann"])
    assert outbox.deliver(DeliveryRequest(run_id="run1", seq=2)) == 1
    assert connections(smtp_server) == 4  # the kept one had been idle too long


def test_a_failed_connection_is_not_reused(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.handler = RefuseRecipient()
    smtp_server.start()
    outbox = dispatcher(engine, smtp_server.port)
    add_notifications(engine, "run1", 1, ["ann", "bob"])
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        outbox.deliver(DeliveryRequest(run_id="run1", seq=1))
    add_notifications(engine, "run1", 2, ["cat"])
    assert outbox.deliver(DeliveryRequest(run_id="run1", seq=2)) == 1
    assert connections(smtp_server) == 2


# --------------------------------------------------------------------------- messages

NOW = datetime(2027, 6, 7, 9, 5, 7, 123456, tzinfo=UTC)
KEY = "0196f0b4-1111-7222-8333-444455556666:12:gateshead-sgcp-tm"
TO = "gateshead-sgcp-tm@council.example"
BODY = (
    "Summary authorised.\n"
    "\n"
    "Transfer: TR-0001 (sgcp-to-lac, sgcp → lac)\n"
    "Case: case-TR-0001; children: child-1, child-2\n"
    "Stage: proposed; responsible team: sgcp\n"
    "Waiting for: checklist\n"
    "\n"
    "Details and actions: GET /transfers/TR-0001"
)


def test_messages_the_email_package_builds_are_delivered(
    engine: sqlalchemy.Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    with Session(engine) as session:
        session.add(Notification(
            key="run1:1:zoe", run_id="run1", seq=1, transfer_id="T-run1",
            recipient_id="zoe", recipient_role="team_manager", recipient_team="north",
            email="zoe@council.example", subject="Transfer for Zoë: " + "long words " * 10,
            body="A line far longer than seventy-eight characters, " * 4 + "→\nSecond line\n",
            created_at=datetime.now(UTC),
        ))
        session.commit()
    assert dispatcher(engine, smtp_server.port).deliver(DeliveryRequest(run_id="run1", seq=1)) == 1
    (received,) = smtp_server.received
    msg = received.message
    assert " ".join(str(msg["Subject"]).split()) == "Transfer for Zoë: " + " ".join(
        ["long words"] * 10)
    assert msg.get_content().replace("\r\n", "\n") == (
        "A line far longer than seventy-eight characters, " * 4 + "→\nSecond line\n")
    assert msg["Message-ID"] == message_id("run1:1:zoe")


def test_a_server_that_stops_answering_fails_the_check_quickly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox_module, "SMTP_CHECK_SECONDS", 0.2)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        # The server greets, then never answers again.
        client = smtplib.SMTP()
        client.sock = socket.create_connection(listener.getsockname(), timeout=10)
        server_side, _ = listener.accept()
        with server_side:
            server_side.sendall(b"220 hello\r\n")
            assert client.getreply()[0] == 220
            conn = outbox_module._Connection(client)
            started = time.monotonic()
            assert not conn.alive()
            assert time.monotonic() - started < 5
            conn.close(polite=False)
