"""The benchmark's SMTP sink, in a process of its own (so the load generator's GIL never slows
its answers): accepts every message and appends `<accept time> <TAB> <subject>` to a file.

    python -m bench.sink --port P --out accepted.tsv
"""

from __future__ import annotations

import argparse
import signal
import time
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path
from typing import IO, Any

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, out: IO[str]) -> None:
        self._out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        at = time.time()
        content: bytes = envelope.original_content or envelope.content
        subject = str(BytesHeaderParser(policy=default).parsebytes(content).get("Subject", ""))
        subject = " ".join(subject.split())
        self._out.write(f"{at:.6f}\t{subject}\n")
        self._out.flush()
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # only sigwait below sees them
    with args.out.open("a", encoding="utf-8") as out:
        controller = Controller(Recorder(out), hostname="127.0.0.1", port=args.port)
        controller.start()
        print("sink running", flush=True)  # noqa: T201 - the parent waits for it
        try:
            signal.sigwait(stop_signals)
        finally:
            controller.stop()


if __name__ == "__main__":
    main()
