"""A real SMTP server for tests: aiosmtpd collecting every message it accepts."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps (recipients, parsed message) for each message accepted."""

    port: int = 0
    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for rcpts, m in self.messages if address in rcpts]

    def subjects(self, address: str) -> list[str]:
        # Long subjects arrive folded over several lines: unfold them (RFC 5322 §2.2.3); words
        # beyond ASCII (15½) arrive encoded (RFC 2047): decode them.
        return [str(make_header(decode_header(str(m["Subject"]).replace("\r\n", "")))).strip()
                for m in self.to(address)]
