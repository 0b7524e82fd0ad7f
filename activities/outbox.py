"""The outbox dispatcher: sends the emails written to the `notification` table.

A transfer's change writes its emails as rows in the same transaction as its
event; the workflow then asks this activity to deliver that change's rows.
Each accepted message is marked sent and committed at once, so a retried
activity never resends what the SMTP server already took. Every message has
a Message-ID derived from its row key, so a duplicate (a crash between the
server's 250 and our commit) is recognisable downstream.

SMTP connections are kept for the next delivery (a few idle ones, for a short
while, each for a limited number of messages) and checked with a NOOP before
reuse, so a change's emails usually go without a new connection, TLS handshake
or login. Messages are built by the `email` package.

Logs name the transfer, the recipient's role and team and the row key, never
an address or a body.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import sqlalchemy
from sqlalchemy import Row, Select, Table, bindparam, select, update
from temporalio import activity

from config import Settings
from models.tables import Notification
from models.transfer import DeliveryRequest

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10.0
MAX_ERROR_CHARS = 500
SMTP_IDLE_CONNECTIONS = 8  # kept open between deliveries, at most
SMTP_IDLE_SECONDS = 30.0  # an idle connection older than this is closed, not reused
SMTP_CHECK_SECONDS = 2.0  # the NOOP before reuse: a healthy server answers at once
SMTP_MESSAGES_PER_CONNECTION = 20  # then a new one: some servers limit messages per connection

OUTBOX: Table = Notification.__table__  # type: ignore[attr-defined]
_ROW = (OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.transfer_id, OUTBOX.c.recipient_role,
        OUTBOX.c.recipient_team, OUTBOX.c.email, OUTBOX.c.subject, OUTBOX.c.body,
        OUTBOX.c.attempts)
# A body the retention schedule removed is never sent (blank), even if it never was.
_UNSENT = OUTBOX.c.sent_at.is_(None) & OUTBOX.c.body_purged_at.is_(None)
_CHANGE_UNSENT = (select(*_ROW)
                  .where(OUTBOX.c.run_id == bindparam("run_id"), OUTBOX.c.seq == bindparam("seq"),
                         _UNSENT)
                  .order_by(OUTBOX.c.id))
_ALL_UNSENT = select(*_ROW).where(_UNSENT).order_by(OUTBOX.c.id).limit(bindparam("limit"))
_MARK_SENT = (update(OUTBOX).where(OUTBOX.c.id == bindparam("row_id"))
              .values(sent_at=bindparam("sent_at"), attempts=OUTBOX.c.attempts + 1,
                      last_error=None))
_MARK_FAILED = (update(OUTBOX).where(OUTBOX.c.id.in_(bindparam("row_ids", expanding=True)))
                .values(attempts=OUTBOX.c.attempts + 1, last_error=bindparam("error")))

OutboxRow = Row[Any, Any, Any, Any, Any, Any, Any, Any, Any]  # the columns of _ROW


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str
    password: str
    starttls: bool
    mail_from: str
    tls: bool = False  # implicit TLS (SMTPS): the connection is TLS from its first byte

    @classmethod
    def from_settings(cls, s: Settings) -> SmtpConfig:
        return cls(
            host=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            starttls=s.smtp_starttls,
            mail_from=s.mail_from,
            tls=s.smtp_tls,
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


def build_message(mail_from: str, key: str, to: str, subject: str, body: str,
                  now: datetime) -> EmailMessage:
    """The message, built by the `email` package (any headers, any body)."""
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(now.timestamp(), localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(key)
    msg["X-Caseflow-Key"] = key
    msg.set_content(body)
    return msg


@dataclass
class _Connection:
    smtp: smtplib.SMTP
    sent: int = 0  # messages sent on this connection
    idle_since: float = field(default_factory=time.monotonic)

    def alive(self) -> bool:
        """Whether the server still answers (a NOOP, with a short timeout)."""
        sock = self.smtp.sock
        if sock is None:
            return False
        try:
            sock.settimeout(SMTP_CHECK_SECONDS)
            answered = self.smtp.noop()[0] == 250
            sock.settimeout(SMTP_TIMEOUT_SECONDS)
            return answered
        except (smtplib.SMTPException, OSError):
            return False

    def close(self, *, polite: bool) -> None:
        """QUIT (if `polite`) and close; never raises."""
        try:
            if polite:
                self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self.smtp.close()


class OutboxDispatcher:
    def __init__(self, engine: sqlalchemy.Engine, smtp: SmtpConfig) -> None:
        # Each accepted message is marked sent by one UPDATE, committed on its own (no
        # BEGIN/COMMIT round trips); nothing here needs more than one statement at once.
        self._db = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._smtp = smtp
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    @activity.defn(name="deliver_notifications")
    def deliver(self, request: DeliveryRequest) -> int:
        """Send one change's unsent emails; return how many were sent now."""
        return self._send(_CHANGE_UNSENT, {"run_id": request.run_id, "seq": request.seq})

    def deliver_pending(self, limit: int = 100) -> int:
        """Send up to `limit` unsent emails of any transfer, oldest first (an ops sweep)."""
        return self._send(_ALL_UNSENT, {"limit": limit})

    def close(self) -> None:
        """Close the idle SMTP connections (they are also closed when found stale)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close(polite=True)

    def _send(self, query: Select[Any], params: dict[str, Any]) -> int:
        with self._db.connect() as db:
            rows: Sequence[OutboxRow] = db.execute(query, params).all()
            if not rows:
                return 0
            sent = 0
            conn: _Connection | None = None
            try:
                for row in rows:
                    if activity.in_activity():  # a dead worker is noticed in seconds
                        activity.heartbeat(sent)
                    if conn is not None and conn.sent >= SMTP_MESSAGES_PER_CONNECTION:
                        conn.close(polite=True)
                        conn = None
                    if conn is None:
                        conn = self._checkout()
                    self._send_one(conn.smtp, row)
                    conn.sent += 1
                    db.execute(_MARK_SENT, {"row_id": row.id, "sent_at": datetime.now(UTC)})
                    sent += 1
                    log.info(
                        "notification sent transfer_id=%s recipient_role=%s "
                        "recipient_team=%s key=%s",
                        row.transfer_id, row.recipient_role, row.recipient_team, row.key,
                    )
            except (smtplib.SMTPException, OSError) as exc:
                if conn is not None:
                    conn.close(polite=False)
                unsent = rows[sent:]
                error = _describe(exc, [row.email for row in unsent])
                db.execute(_MARK_FAILED, {"row_ids": [row.id for row in unsent], "error": error})
                for row in unsent:
                    log.warning(
                        "notification not sent transfer_id=%s recipient_role=%s "
                        "recipient_team=%s key=%s attempts=%d error=%s",
                        row.transfer_id, row.recipient_role, row.recipient_team, row.key,
                        row.attempts + 1, error,
                    )
                raise
            except BaseException:
                if conn is not None:
                    conn.close(polite=False)
                raise
            if conn is not None:
                self._checkin(conn)
            return sent

    def _send_one(self, smtp: smtplib.SMTP, row: OutboxRow) -> None:
        cfg = self._smtp
        message = build_message(cfg.mail_from, row.key, row.email, row.subject, row.body,
                                datetime.now(UTC))
        smtp.send_message(message, from_addr=cfg.mail_from, to_addrs=[row.email])

    def _checkout(self) -> _Connection:
        """An idle connection that still answers, else a new one."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return _Connection(self._connect())
            if time.monotonic() - conn.idle_since <= SMTP_IDLE_SECONDS and conn.alive():
                return conn
            conn.close(polite=False)

    def _checkin(self, conn: _Connection) -> None:
        """Keep `conn` for the next delivery (and close any kept too long), or close it."""
        now = time.monotonic()
        kept = False
        with self._lock:
            expired = [c for c in self._idle if now - c.idle_since > SMTP_IDLE_SECONDS]
            if expired:
                self._idle = [c for c in self._idle if now - c.idle_since <= SMTP_IDLE_SECONDS]
            if conn.sent < SMTP_MESSAGES_PER_CONNECTION and len(self._idle) < SMTP_IDLE_CONNECTIONS:
                conn.idle_since = now
                self._idle.append(conn)
                kept = True
        for stale in expired:
            stale.close(polite=False)
        if not kept:
            conn.close(polite=True)

    def _connect(self) -> smtplib.SMTP:
        cfg = self._smtp
        smtp = (smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=SMTP_TIMEOUT_SECONDS,
                                 context=ssl.create_default_context()) if cfg.tls
                else smtplib.SMTP(cfg.host, cfg.port, timeout=SMTP_TIMEOUT_SECONDS))
        try:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

