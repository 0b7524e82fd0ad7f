"""What every figure shares: statistics, process readings, the SMTP sink, the bare worker,
open-loop load, and a stack with both the project and the bare baseline on one server."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from temporalio.client import Client

from config import ROOT
from ops.stack import Stack, StackError, free_port, temporal_binary
from payload_codec import data_converter

BARE_QUEUE = "bench-bare"
READY_TIMEOUT = 60.0


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)  # noqa: T201


# ---------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    if lo == hi:
        return ordered[lo]
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / max / mean in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else math.nan,
        "mean_ms": round(sum(ms) / len(ms), 2) if ms else math.nan,
    }


def median(values: list[float]) -> float:
    return percentile(values, 50)


def ratio(project: float, bare: float) -> float:
    if not bare or math.isnan(bare) or math.isnan(project):
        return math.nan
    return round(project / bare, 3)


# ---------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process and its children (all threads), in seconds."""
    if pid is None:
        return math.nan
    try:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        total = times.user + times.system
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                ct = child.cpu_times()
                total += ct.user + ct.system
        return total
    except psutil.Error:
        return math.nan


def rss_bytes(pid: int | None) -> int:
    """Resident set size of a process and its children."""
    if pid is None:
        return 0
    try:
        proc = psutil.Process(pid)
        total = int(proc.memory_info().rss)
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += int(child.memory_info().rss)
        return total
    except psutil.Error:
        return 0


def file_bytes(*paths: Path) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


def sqlite_bytes(path: Path) -> int:
    """A SQLite database's main file plus its write-ahead log."""
    return file_bytes(path, path.with_name(path.name + "-wal"))


@dataclass
class CpuMeter:
    """CPU time used by named processes between `start()` and `stop()`."""

    pids: dict[str, int | None]
    before: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuMeter:
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.before["bench"] = _own_cpu()
        return self

    def stop(self) -> dict[str, float]:
        after = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        after["bench"] = _own_cpu()
        self.used = {name: after[name] - self.before[name] for name in after}
        return self.used


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


# ---------------------------------------------------------------------------------------
# Child processes of the bench: the SMTP sink and the bare worker
# ---------------------------------------------------------------------------------------


class Child:
    """`python -m <module> ...` in a session of its own, logging to `<workdir>/<name>.log`;
    started once it prints `ready`, stopped (SIGTERM, then SIGKILL) by its own pid."""

    def __init__(self, workdir: Path, name: str, args: list[str], ready: str) -> None:
        self.workdir, self.name, self.args, self.ready = workdir, name, args, ready
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{name}.log"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def start(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", *self.args], cwd=ROOT, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StackError(f"{self.name} exited:\n{self.tail()}")
            with self.log_path.open("rb") as f:
                f.seek(offset)
                if self.ready.encode() in f.read():
                    return
            time.sleep(0.1)
        self.stop()
        raise StackError(f"{self.name} not ready after {READY_TIMEOUT:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@dataclass
class Accepted:
    at: float  # time.time() when the sink accepted the message
    subject: str


class Sink(Child):
    """The SMTP sink (`bench.sink`) on a free port, recording each message's accept time."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.out = workdir / "accepted.tsv"
        super().__init__(workdir, "sink", ["bench.sink", "--port", str(self.port),
                                            "--out", str(self.out)], "sink running")

    def accepted(self, needle: str = "") -> list[Accepted]:
        if not self.out.exists():
            return []
        found = []
        for line in self.out.read_text(encoding="utf-8").splitlines():
            at, _, subject = line.partition("\t")
            if needle in subject:
                found.append(Accepted(float(at), subject))
        return found


class BareWorker(Child):
    """The bare baseline's worker (`bench.bare`)."""

    def __init__(self, workdir: Path, address: str, smtp_port: int) -> None:
        super().__init__(workdir, "bare-worker",
                         ["bench.bare", "--address", address, "--task-queue", BARE_QUEUE,
                          "--smtp-port", str(smtp_port)], "bare worker running")


# ---------------------------------------------------------------------------------------
# A bench stack: Temporal, the project's worker and API, the bare worker, the SMTP sink
# ---------------------------------------------------------------------------------------


@dataclass
class BenchStack:
    stack: Stack
    sink: Sink
    bare: BareWorker | None
    client: Client  # default data converter: the bare baseline's client
    project_client: Client  # the project's data converter (pydantic, encrypted)
    workdir: Path

    def pids(self) -> dict[str, int | None]:
        return {
            "worker": self.stack.pid("worker"),
            "api": self.stack.pid("api"),
            "temporal": self.stack.pid("temporal"),
            "bare_worker": self.bare.pid if self.bare else None,
            "sink": self.sink.pid,
        }

    @property
    def temporal_db(self) -> Path:
        return self.stack.temporal_db


@contextlib.asynccontextmanager
async def bench_stack(name: str, *, project: bool = True, bare: bool = True,
                      worker: bool = True, api: bool = True, database_url: str | None = None,
                      env: dict[str, str] | None = None,
                      keep: Path | None = None) -> Any:
    """A fresh stack under a temporary directory (a fresh Temporal database every time)."""
    base = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    sink = Sink(base)
    await asyncio.to_thread(sink.start)
    url = database_url or f"sqlite:///{base / 'caseflow.db'}"
    stack = Stack(base, database_url=url, smtp_port=sink.port, env=env)
    bare_worker: BareWorker | None = None
    failed = False
    try:
        await asyncio.to_thread(stack.start_temporal)
        if project:
            await asyncio.to_thread(stack.prepare_store)
            if worker:
                await asyncio.to_thread(stack.start_worker)
            if api:
                await asyncio.to_thread(stack.start_api)
        if bare:
            bare_worker = BareWorker(base, stack.temporal_address, sink.port)
            await asyncio.to_thread(bare_worker.start)
        client = await Client.connect(stack.temporal_address)
        project_client = await Client.connect(stack.temporal_address,
                                              data_converter=data_converter(stack.payload_keys))
        yield BenchStack(stack, sink, bare_worker, client, project_client, base)
    except BaseException:
        failed = True
        raise
    finally:
        if bare_worker is not None:
            await asyncio.to_thread(bare_worker.stop)
        await asyncio.to_thread(stack.close)
        await asyncio.to_thread(sink.stop)
        if failed and keep is None:
            keep = Path(tempfile.gettempdir()) / "bench-logs" / time.strftime("%H%M%S")
            log(f"logs of the failed stack {name}: {keep}")
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for log_file in base.glob("*.log"):
                shutil.copy(log_file, keep / f"{name}-{log_file.name}")
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------


async def bounded_gather(jobs: Sequence[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Run `jobs` with at most `limit` in flight; results in order (exceptions returned)."""
    sem = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with sem:
            try:
                return await job()
            except Exception as exc:  # noqa: BLE001 - counted by the caller
                return exc

    return await asyncio.gather(*(one(j) for j in jobs))


@dataclass
class OpenLoopResult:
    latencies: list[float]  # from the scheduled send time to the answer, seconds
    errors: list[str]
    lag: list[float]  # how late each send actually started (the generator's own delay)
    offered_rate: float
    duration: float


async def open_loop(rate: float, count: int, send: Callable[[int], Awaitable[None]],
                    timeout: float = 30.0) -> OpenLoopResult:
    """Send request i at t0 + i/rate whatever the answers so far (open loop), and time each
    from its scheduled instant (so a slow answer cannot hide the queueing it causes)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2
    latencies: list[float] = []
    errors: list[str] = []
    lag: list[float] = []

    async def one(i: int) -> None:
        scheduled = t0 + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        lag.append(loop.time() - scheduled)
        try:
            await asyncio.wait_for(send(i), timeout)
            latencies.append(loop.time() - scheduled)
        except Exception as exc:  # noqa: BLE001 - counted, reported
            errors.append(f"{type(exc).__name__}: {exc}"[:200])

    await asyncio.gather(*(one(i) for i in range(count)))
    return OpenLoopResult(latencies, errors, lag, rate, count / rate)


# ---------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    temporal = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        temporal = subprocess.run([temporal_binary(), "--version"], capture_output=True,
                                  text=True, timeout=20).stdout.strip()
    load = os.getloadavg()
    code = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True,
                               timeout=10).stdout.split()[1::2]
        shown = ", ".join(dirty[:6]) + (f" and {len(dirty) - 6} more" if len(dirty) > 6 else "")
        code = head + (f" with uncommitted changes to {shown}" if dirty else "")
    return {
        "code": code,
        "cpu_model": model,
        "cores": psutil.cpu_count(logical=True),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "temporal_cli": temporal,
        "loadavg_at_start": [round(x, 2) for x in load],
    }


@contextlib.contextmanager
def timed() -> Iterator[dict[str, float]]:
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start
