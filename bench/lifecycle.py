"""Figure 1: lifecycle throughput.

N concurrent Gateshead SGCP -> LAC transfers driven through the API from start to
allocated (the anchor four weeks back, so the transfer is overdue at once and the
last requirement transfers it at once: authorise-summary, complete-checklist,
record-care-order, inform-iro, allocate, each with an Idempotency-Key), against N bare
transfer-shaped workflows (a no-op activity, three Updates, a no-op activity)
driven through the Temporal client. Lifecycles per second (N / wall time from the
first start to the last lifecycle done) and worker CPU-ms per lifecycle.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import BenchStack, CpuMeter, cpu_seconds, latency_summary, log
from bench.drive import api_client, bare_lifecycle, project_lifecycle

SETTLE_CORE_SHARE = 0.05  # the worker is idle when it uses under 5 % of a core
SETTLE_LIMIT = 30.0
# In-flight API requests at most (see docs/BENCHMARKS.md: more exhaust the API's DB pool).
API_CONNECTIONS = 10
WARMUP = 10


async def settle(pid: int | None, limit: float = SETTLE_LIMIT) -> float:
    """Wait until the process goes idle (its emails sent, its caches quiet); seconds waited."""
    start = time.monotonic()
    last = cpu_seconds(pid)
    while time.monotonic() - start < limit:
        await asyncio.sleep(0.5)
        now = cpu_seconds(pid)
        if now - last < 0.5 * SETTLE_CORE_SHARE:
            break
        last = now
    return time.monotonic() - start


async def _timed_all(jobs: list[Any]) -> tuple[float, list[float], list[str]]:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    durations: list[float] = []
    errors: list[str] = []

    async def one(job: Any) -> None:
        started = loop.time()
        try:
            await job()
            durations.append(loop.time() - started)
        except Exception as exc:  # noqa: BLE001 - reported
            errors.append(f"{type(exc).__name__}: {exc}"[:300])

    await asyncio.gather(*(one(j) for j in jobs))
    return loop.time() - t0, durations, errors


async def measure(bs: BenchStack, side: str, n: int, tag: str,
                  api_connections: int = API_CONNECTIONS) -> dict[str, Any]:
    worker = "bare_worker" if side == "bare" else "worker"
    pids = bs.pids()
    await settle(pids[worker])
    meter = CpuMeter(pids).start()
    retries = 0
    if side == "bare":
        jobs = [lambda i=i: bare_lifecycle(bs.client, f"bare-life-{tag}-{i}") for i in range(n)]
        wall, durations, errors = await _timed_all(jobs)
    else:
        async with api_client(bs.stack.api_url, connections=api_connections) as http:
            jobs = [lambda i=i: project_lifecycle(http, f"L{tag}x{i}") for i in range(n)]
            wall, durations, errors = await _timed_all(jobs)
            retries = http.retries
    settled = await settle(pids[worker])
    used = meter.stop()
    done = len(durations)
    per = {f"cpu_ms_per_lifecycle_{name}": round(1000 * s / max(done, 1), 2)
           for name, s in used.items() if s == s}  # NaN-safe: s == s is False for NaN
    result = {
        "side": side, "n": n, "api_connections": api_connections if side == "project" else None,
        "completed": done, "retries_after_503_504": retries, "errors": len(errors),
        "error_samples": errors[:5], "wall_s": round(wall, 3),
        "lifecycles_per_s": round(done / wall, 3) if wall else 0.0,
        "worker_cpu_ms_per_lifecycle": round(1000 * used[worker] / max(done, 1), 2),
        "lifecycle_latency": latency_summary(durations),
        "settle_s": round(settled, 1),
        **per,
    }
    log(f"  fig1 {side:7} N={n}: {result['lifecycles_per_s']:.1f} lifecycles/s, worker "
        f"{result['worker_cpu_ms_per_lifecycle']:.0f} CPU-ms/lifecycle, errors {len(errors)}")
    return result


async def run(bs: BenchStack, sizes: list[int], reps: int,
              api_connections: int = API_CONNECTIONS) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for side in ("bare", "project"):  # warm up both (first instances, imports, caches)
        await measure(bs, side, WARMUP, "warm", api_connections)
    for n in sizes:
        for rep in range(reps):
            for side in ("bare", "project"):
                runs.append(await measure(bs, side, n, f"{n}r{rep}", api_connections))
    return {"figure": "lifecycle", "sizes": sizes, "repetitions": reps,
            "api_connections": api_connections, "runs": runs}
