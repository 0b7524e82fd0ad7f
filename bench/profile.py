"""Where the project's time goes during figure 1: py-spy on the worker and the API.

`python -m bench --profile` runs N project lifecycles (as figure 1 does, on a fresh
stack) with `py-spy record --gil` attached to the worker and to the API: only the
thread holding the GIL is sampled, which is where a Python process's time is
bounded. The raw samples are grouped by the frames they pass through.
py-spy is looked up on PATH, beside this interpreter, or in $PY_SPY
(`pip install --target DIR py-spy` puts it in DIR/bin without touching the venv).
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import lifecycle
from bench.common import bench_stack, log

RATE_HZ = 100
WORKER_GROUPS: list[tuple[str, str]] = [
    ("workflow activations (all)", "_WorkflowWorker._handle_activation"),
    ("  new workflow instance in the sandbox (module re-import)", "_create_workflow_instance"),
    ("    of which compiling Python source (no .pyc)", "source_to_code"),
    ("  payload visitor (every payload in and out)", "temporalio/bridge/_visitor.py"),
    ("  data converter (pydantic JSON)", "temporalio/converter"),
    ("  workflow code (workflows/)", "workflows/"),
    ("activities (all)", "_execute_sync_activity"),
    ("  record_change (case store write)", "CaseStoreActivities.record_change"),
    ("  deliver_notifications (SMTP)", "OutboxDispatcher.deliver"),
    ("  plan_deadlines", "DeadlinePlanner.plan"),
    ("  SQLAlchemy", "sqlalchemy/"),
    ("polling and completing tasks (SDK bridge)", "temporalio/bridge/worker.py"),
]
API_GROUPS: list[tuple[str, str]] = [
    ("POST .../actions/{action}", "act (api/routes/transfers.py"),
    ("POST /transfers", "start_transfer (api/routes/transfers.py"),
    ("Temporal client calls", "temporalio/client/"),
    ("token lookup (token_holder)", "token_holder"),
    ("current row read (_load)", "_load (api/routes/transfers.py"),
    ("FastAPI dependency solving", "solve_dependencies"),
    ("response serialisation", "serialize_response"),
    ("SQLAlchemy", "sqlalchemy/"),
]
OWN_CODE = re.compile(r"\((workflows|activities|api|models)/|\((database|temporal_setup)\.py")
LINE = re.compile(r":\d+\)$")


def py_spy() -> str | None:
    for found in (os.environ.get("PY_SPY"), shutil.which("py-spy"),
                  shutil.which("py-spy", path=str(Path(sys.executable).parent))):
        if found and Path(found).exists():
            return found
    return None


def analyse(raw: Path, groups: list[tuple[str, str]]) -> dict[str, Any]:
    total = 0
    grouped: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [LINE.sub(")", f) for f in stack.split(";") if f]
        if frames:
            leaves[frames[-1]] += n
        for name, needle in groups:
            if needle in stack:
                grouped[name] += n
        for f in set(frames):
            if OWN_CODE.search(f):
                own[f] += n

    def share(n: int) -> float:
        return round(100 * n / total, 1) if total else 0.0

    return {
        "samples": total,
        "groups": [{"what": name, "share_pct": share(grouped[name])} for name, _ in groups],
        "top_self": [{"frame": f, "share_pct": share(n)} for f, n in leaves.most_common(12)],
        "top_own_code": [{"frame": f, "share_pct": share(n)} for f, n in own.most_common(15)],
    }


async def run(n: int, api_connections: int) -> dict[str, Any]:
    spy = py_spy()
    if spy is None:
        log("  profile: py-spy not found (pip install --target DIR py-spy; PY_SPY=DIR/bin/py-spy)")
        return {"error": "py-spy not found"}
    folder = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    async with bench_stack("profile", bare=False) as bs:
        await lifecycle.measure(bs, "project", 10, "warm", api_connections)
        spies = {}
        for name in ("worker", "api"):
            pid = bs.stack.pid(name)
            spies[name] = subprocess.Popen(
                [spy, "record", "--pid", str(pid), "--gil", "--rate", str(RATE_HZ),
                 "--format", "raw", "--nonblocking", "-o", str(folder / f"{name}.raw")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        await asyncio.sleep(1.0)
        measured = await lifecycle.measure(bs, "project", n, "prof", api_connections)
        for proc in spies.values():
            proc.send_signal(signal.SIGINT)
        for proc in spies.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    result: dict[str, Any] = {
        "tool": f"py-spy record --gil --rate {RATE_HZ} --nonblocking",
        "n": n, "wall_s": measured["wall_s"],
        "lifecycles_per_s_while_profiled": measured["lifecycles_per_s"],
        "seconds_sampled_hint": "samples / rate = seconds the GIL was held by the process",
        "rate_hz": RATE_HZ,
    }
    for name, groups in (("worker", WORKER_GROUPS), ("api", API_GROUPS)):
        raw = folder / f"{name}.raw"
        result[name] = analyse(raw, groups) if raw.exists() else {"error": "no samples"}
    shutil.rmtree(folder, ignore_errors=True)
    worker = result["worker"]
    if "groups" in worker:
        log("  profile (worker, share of GIL-held samples): " + "; ".join(
            f"{g['what'].strip()} {g['share_pct']}%" for g in worker["groups"][:6]))
    return result
