"""Development SMTP sink: accepts every message and keeps it in a Maildir.

    python -m ops.smtp_sink        # listens on 127.0.0.1:$SMTP_PORT (default 8025)

Messages land in .data/mailbox (open it with `mutt -f .data/mailbox` or read the
files under new/). One line per message is printed: time, recipients, subject.
"""

from __future__ import annotations

import mailbox
import os
import signal
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from config import ROOT

MAILDIR = ROOT / ".data" / "mailbox"


class MaildirHandler:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(path, create=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        self._box.add(content)
        subject = BytesHeaderParser(policy=default).parsebytes(content).get("Subject", "")
        stamp = datetime.now().astimezone().strftime("%H:%M:%S")
        print(f"{stamp} to={','.join(envelope.rcpt_tos)} subject={subject}", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    port = int(os.environ.get("SMTP_PORT", "8025"))
    controller = Controller(MaildirHandler(MAILDIR), hostname="127.0.0.1", port=port)
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    # Blocked before the server thread starts, so it inherits the mask and only
    # the main thread's sigwait sees SIGTERM (honcho) or Ctrl-C.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    controller.start()
    print(f"smtp sink on 127.0.0.1:{port}, saving to {MAILDIR}", flush=True)
    try:
        received = signal.sigwait(stop_signals)
        print(f"smtp sink stopping ({signal.Signals(received).name})", flush=True)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
