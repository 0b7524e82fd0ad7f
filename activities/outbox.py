"""The outbox dispatcher: sends the emails written to the `notification` table.

A transfer's change writes its emails as rows in the same transaction as its
event; the workflow then asks this activity to deliver that change's rows.
Each accepted message is marked sent and committed at once, so a retried
activity never resends what the SMTP server already took. Every message has
a Message-ID derived from its row key, so a duplicate (a crash between the
server's 250 and our commit) is recognisable downstream.

Logs name the transfer, the recipient's role and team and the row key, never
an address or a body.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate

import sqlalchemy
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar
from temporalio import activity

from config import Settings
from models.tables import Notification
from models.transfer import DeliveryRequest

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10.0
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str
    password: str
    starttls: bool
    mail_from: str

    @classmethod
    def from_settings(cls, s: Settings) -> SmtpConfig:
        return cls(
            host=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            starttls=s.smtp_starttls,
            mail_from=s.mail_from,
        )


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@caseflow>"


def _describe(exc: BaseException, redact: Sequence[str]) -> str:
    """The exception class and message, with recipients' addresses taken out."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = ", ".join(str(code) for code, _ in exc.recipients.values())
        text = f"recipient refused ({detail})"
    elif isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode(errors="replace")
        text = f"{exc.smtp_code} {reply}"
    else:
        text = str(exc)
    for address in redact:
        if address:
            text = text.replace(address, "<recipient>")
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR_CHARS]


class OutboxDispatcher:
    def __init__(self, engine: sqlalchemy.Engine, smtp: SmtpConfig) -> None:
        self._engine = engine
        self._smtp = smtp

    @activity.defn(name="deliver_notifications")
    def deliver(self, request: DeliveryRequest) -> int:
        """Send one change's unsent emails; return how many were sent now."""
        query = (
            select(Notification)
            .where(Notification.run_id == request.run_id)
            .where(Notification.seq == request.seq)
            .where(col(Notification.sent_at).is_(None))
            .order_by(col(Notification.id))
        )
        return self._send(query)

    def deliver_pending(self, limit: int = 100) -> int:
        """Send up to `limit` unsent emails of any transfer, oldest first (an ops sweep)."""
        query = (
            select(Notification)
            .where(col(Notification.sent_at).is_(None))
            .order_by(col(Notification.id))
            .limit(limit)
        )
        return self._send(query)

    def _send(self, query: SelectOfScalar[Notification]) -> int:
        with Session(self._engine, expire_on_commit=False) as session:
            rows = list(session.exec(query).all())
            if not rows:
                return 0
            sent = 0
            try:
                with self._connect() as smtp:
                    for row in rows:
                        if activity.in_activity():  # a dead worker is noticed in seconds
                            activity.heartbeat(sent)
                        smtp.send_message(
                            self._message(row), from_addr=self._smtp.mail_from, to_addrs=[row.email]
                        )
                        row.sent_at = datetime.now(UTC)
                        row.attempts += 1
                        row.last_error = None
                        session.add(row)
                        session.commit()
                        sent += 1
                        log.info(
                            "notification sent transfer_id=%s recipient_role=%s "
                            "recipient_team=%s key=%s",
                            row.transfer_id, row.recipient_role, row.recipient_team, row.key,
                        )
            except (smtplib.SMTPException, OSError) as exc:
                unsent = rows[sent:]
                if not unsent:  # every message was accepted; only the goodbye failed
                    log.warning("smtp quit failed after delivery: %s", type(exc).__name__)
                    return sent
                error = _describe(exc, [row.email for row in unsent])
                for row in unsent:
                    row.attempts += 1
                    row.last_error = error
                    session.add(row)
                session.commit()
                for row in unsent:
                    log.warning(
                        "notification not sent transfer_id=%s recipient_role=%s "
                        "recipient_team=%s key=%s attempts=%d error=%s",
                        row.transfer_id, row.recipient_role, row.recipient_team, row.key,
                        row.attempts, error,
                    )
                raise
            return sent

    def _connect(self) -> smtplib.SMTP:
        cfg = self._smtp
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _message(self, row: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._smtp.mail_from
        msg["To"] = row.email
        msg["Subject"] = row.subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = message_id(row.key)
        msg["X-Caseflow-Key"] = row.key
        msg.set_content(row.body)
        return msg
