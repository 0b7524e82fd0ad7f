"""Email goes over TLS in production: the settings refuse otherwise, and implicit TLS
(SMTPS, SMTP_TLS=true) delivers through a real TLS server (aiosmtpd, the test's own CA)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from aiosmtpd.controller import Controller
from pydantic import ValidationError
from sqlmodel import Session, SQLModel

from activities import outbox as outbox_module
from activities.outbox import OutboxDispatcher, SmtpConfig
from config import Settings
from database import make_engine
from models.tables import Notification
from tests.certs import Authority
from tests.converter import TEST_PAYLOAD_KEYS
from tests.mail import Mailbox, free_port

BASE: dict[str, Any] = {"environment": "production",
                        "database_url": "postgresql://caseflow@db/caseflow",
                        "temporal_insecure_ok": True, "payload_keys": TEST_PAYLOAD_KEYS,
                        "pages_enabled": False}  # a process that sends mail serves no pages


def test_production_refuses_email_in_the_clear():
    with pytest.raises(ValidationError, match="production sends email over TLS: set "
                                              "SMTP_STARTTLS=true .* or SMTP_TLS=true"):
        Settings(**BASE)
    assert Settings(**BASE, smtp_starttls=True).smtp_starttls
    assert SmtpConfig.from_settings(Settings(**BASE, smtp_tls=True, smtp_port=465)).tls
    # In the clear only on the operator's word that the relay is on a private network.
    assert not SmtpConfig.from_settings(Settings(**BASE, smtp_insecure_ok=True)).starttls
    with pytest.raises(ValidationError, match="not both"):
        Settings(smtp_starttls=True, smtp_tls=True)
    # Development keeps the local sink, in the clear.
    development = SmtpConfig.from_settings(Settings())
    assert (development.starttls, development.tls) == (False, False)


@pytest.fixture
def tls_mailbox(tmp_path: Path) -> Iterator[tuple[Mailbox, Path]]:
    ca = Authority(tmp_path, "mail")
    pair = ca.issue("localhost", server=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pair.cert, pair.key)
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    box.port = controller.port
    yield box, ca.file
    controller.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sqlalchemy.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


def queue_one(engine: sqlalchemy.Engine) -> None:
    with Session(engine) as session:
        session.add(Notification(
            key="r1:1:tm", run_id="r1", seq=1, transfer_id="T-r1", recipient_id="tm",
            recipient_role="team_manager", recipient_team="north", email="tm@council.example",
            subject="Transfer T-r1: change 1", body="Change 1.\n", created_at=datetime.now(UTC)))
        session.commit()


def test_implicit_tls_delivers_to_a_tls_server(tls_mailbox, engine, monkeypatch):
    box, ca_file = tls_mailbox
    # The server's certificate is the test CA's: trust it where the outbox makes its context.
    system = ssl.create_default_context
    monkeypatch.setattr("activities.outbox.ssl.create_default_context",
                        lambda *a, **k: system(cafile=str(ca_file)))
    queue_one(engine)
    config = SmtpConfig(host="localhost", port=box.port, username="", password="",
                        starttls=False, mail_from="x@council.example", tls=True)
    dispatcher = OutboxDispatcher(engine, config)
    try:
        assert dispatcher.deliver_pending() == 1
    finally:
        dispatcher.close()
    assert [m["Subject"] for m in box.to("tm@council.example")] == ["Transfer T-r1: change 1"]


def test_a_plain_client_gets_nothing_through_a_tls_server(tls_mailbox, engine, monkeypatch):
    box, _ = tls_mailbox
    # It waits for a greeting the TLS server never sends in the clear: no need to wait long.
    monkeypatch.setattr(outbox_module, "SMTP_TIMEOUT_SECONDS", 1.0)
    queue_one(engine)
    plain = SmtpConfig(host="localhost", port=box.port, username="", password="",
                       starttls=False, mail_from="x@council.example")
    dispatcher = OutboxDispatcher(engine, plain)
    with pytest.raises(OSError):
        dispatcher.deliver_pending()
    assert box.messages == []
