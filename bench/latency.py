"""Figure 2: manager action latency at a fixed offered rate.

Open loop: request i is sent at t0 + i / rate whatever the answers so far, and its
round trip is timed from that scheduled instant (so queueing is never hidden). The
project's actions are Gateshead gate actions through the API (authorise-summary,
complete-checklist, record-care-order, inform-iro, record-meeting: five per transfer, on a
pool of transfers opened beforehand with the clock starting now, so nothing falls due);
the baseline is a bare Update round trip through the Temporal client to a bare
transfer-shaped workflow (three per workflow, likewise opened beforehand).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bench.bare import BareTransfer
from bench.common import BenchStack, CpuMeter, bounded_gather, latency_summary, log, open_loop
from bench.drive import (
    GATE_ACTIONS,
    LAC_SW,
    act,
    api_client,
    start_bare,
    start_transfer,
)
from bench.lifecycle import settle

PROJECT_ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    *GATE_ACTIONS,
    # The agreed date is ten working days away: no transfer yet.
    ("record-meeting", LAC_SW, {"attendees": ["child", "lac_social_worker",
                                              "sgcp_social_worker"]}),
]
BARE_UPDATES = 3
SETUP_CONCURRENCY = 10


async def measure(bs: BenchStack, side: str, rate: float, seconds: float, tag: str,
                  api_connections: int) -> dict[str, Any]:
    count = int(rate * seconds)
    per = len(PROJECT_ACTIONS) if side == "project" else BARE_UPDATES
    pool = math.ceil(count / per)
    worker = "worker" if side == "project" else "bare_worker"
    async with api_client(bs.stack.api_url, connections=api_connections) as http:
        # -- the pool, opened beforehand (not timed) --
        if side == "project":
            now = datetime.now(UTC)
            cases = [f"A{tag}x{i}" for i in range(pool)]
            opened = await bounded_gather(
                [partial(start_transfer, http, c, now) for c in cases], SETUP_CONCURRENCY)
        else:
            ids = [f"bare-act-{tag}-{i}" for i in range(pool)]
            opened = await bounded_gather([partial(start_bare, bs.client, w, BARE_UPDATES)
                                           for w in ids], 50)
        failed = [o for o in opened if isinstance(o, Exception)]
        if failed:
            raise RuntimeError(f"could not open the pool: {failed[0]}")

        async def send(i: int) -> None:
            target, step = i % pool, i // pool
            if side == "project":
                action, token, body = PROJECT_ACTIONS[step]
                await act(http, cases[target], action, token, body, f"{action}-{tag}-{i}")
            else:
                handle = bs.client.get_workflow_handle(ids[target])
                await handle.execute_update(BareTransfer.act, f"action-{step}",
                                            id=f"u-{tag}-{i}")

        # Let the pool's own start-up work (first activities, emails) finish first.
        for name in ("worker", "bare_worker"):
            await settle(bs.pids()[name])
        meter = CpuMeter(bs.pids()).start()
        result = await open_loop(rate, count, send)
        used = meter.stop()
    summary = latency_summary(result.latencies)
    out = {
        "side": side, "rate_per_s": rate, "seconds": seconds, "sent": count,
        "answered": len(result.latencies), "errors": len(result.errors),
        "retries_after_503_504": http.retries,
        "error_samples": result.errors[:5], "pool": pool,
        "latency": summary,
        "generator_lag_p99_ms": round(latency_summary(result.lag)["p99_ms"], 2),
        "worker_cpu_ms_per_action": round(1000 * used[worker] / max(count, 1), 2),
        "cpu_s": {k: round(v, 3) for k, v in used.items() if v == v},
    }
    log(f"  fig2 {side:7} {rate:>4.0f}/s: p50 {summary['p50_ms']:.0f} ms, p95 "
        f"{summary['p95_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms, errors "
        f"{len(result.errors)}")
    return out


async def run(bs: BenchStack, rates: list[float], seconds: float, reps: int,
              api_connections: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for rep in range(reps):
        for rate in rates:
            for side in ("bare", "project"):
                runs.append(await measure(bs, side, rate, seconds, f"{int(rate)}r{rep}",
                                          api_connections))
    return {"figure": "latency", "rates": rates, "seconds": seconds, "repetitions": reps,
            "runs": runs}
