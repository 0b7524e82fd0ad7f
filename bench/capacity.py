"""Figure 4: capacity: K open transfers parked on deadlines.

Each run has a fresh stack (a fresh Temporal database and case store). The project's
K Gateshead SGCP -> LAC transfers are opened through the API with the clock
starting now, so each waits on its ten-working-day deadline; the baseline's K bare
workflows run one no-op activity and wait on a timer weeks away. At checkpoints
(every K/4 transfers, or every 1,000) the worker's and the API's resident memory,
and the bytes of the Temporal database (temporal.db + its -wal) and of the case
store (caseflow.db + its -wal), are read once the worker has gone idle.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bench.bare import BareParked
from bench.common import (
    BARE_QUEUE,
    BenchStack,
    bench_stack,
    bounded_gather,
    log,
    rss_bytes,
    sqlite_bytes,
    timed,
)
from bench.drive import api_client, start_transfer
from bench.lifecycle import settle

PARK_DAYS = 30


def checkpoints(k: int) -> list[int]:
    step = 1000 if k > 4000 else max(1, k // 4)
    points = list(range(step, k, step))
    return [*points, k]


def reading(bs: BenchStack, side: str, opened: int) -> dict[str, Any]:
    pids = bs.pids()
    store = bs.workdir / "caseflow.db"
    return {
        "open": opened,
        "worker_rss_mib": round(rss_bytes(pids["worker" if side == "project"
                                              else "bare_worker"]) / 2**20, 1),
        "api_rss_mib": round(rss_bytes(pids["api"]) / 2**20, 1) if side == "project" else None,
        "temporal_rss_mib": round(rss_bytes(pids["temporal"]) / 2**20, 1),
        "temporal_db_bytes": sqlite_bytes(bs.temporal_db),
        "case_store_bytes": sqlite_bytes(store) if side == "project" else 0,
    }


async def measure(side: str, k: int, tag: str, api_connections: int) -> dict[str, Any]:
    project = side == "project"
    async with bench_stack(f"capacity-{side}", project=project, bare=not project) as bs:
        worker = "worker" if project else "bare_worker"
        await settle(bs.pids()[worker])
        readings = [reading(bs, side, 0)]
        opened = 0
        errors: list[str] = []
        with timed() as clock:
            async with api_client(bs.stack.api_url, connections=api_connections) as http:
                for point in checkpoints(k):
                    if project:
                        now = datetime.now(UTC)
                        jobs = [partial(start_transfer, http, f"K{tag}x{i}", now)
                                for i in range(opened, point)]
                        results = await bounded_gather(jobs, api_connections)
                    else:
                        results = await bounded_gather(
                            [partial(bs.client.start_workflow, BareParked.run, PARK_DAYS,
                                     id=f"bare-park-{tag}-{i}", task_queue=BARE_QUEUE)
                             for i in range(opened, point)], 50)
                    errors += [f"{type(r).__name__}: {r}"[:200] for r in results
                               if isinstance(r, Exception)]
                    opened = point
                    await settle(bs.pids()[worker])
                    await asyncio.sleep(1)
                    readings.append(reading(bs, side, opened))
                    log(f"  fig4 {side:7} {opened:>6} open: worker "
                        f"{readings[-1]['worker_rss_mib']} MiB, temporal.db "
                        f"{readings[-1]['temporal_db_bytes'] / 2**20:.1f} MiB")
        first, last = readings[0], readings[-1]
        n = max(opened - len(errors), 1)
        return {
            "side": side, "k": k, "errors": len(errors), "error_samples": errors[:5],
            "open_s": round(clock["seconds"], 1),
            "opened_per_s": round(opened / clock["seconds"], 2),
            "temporal_bytes_per_transfer": round(
                (last["temporal_db_bytes"] - first["temporal_db_bytes"]) / n),
            "case_store_bytes_per_transfer": round(
                (last["case_store_bytes"] - first["case_store_bytes"]) / n),
            "worker_rss_mib": last["worker_rss_mib"],
            "api_rss_mib": last["api_rss_mib"],
            "readings": readings,
        }


async def run(sizes: int, reps: int, api_connections: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for rep in range(reps):
        for side in ("bare", "project"):
            runs.append(await measure(side, sizes, f"{sizes}r{rep}", api_connections))
    return {"figure": "capacity", "k": sizes, "repetitions": reps, "runs": runs}
