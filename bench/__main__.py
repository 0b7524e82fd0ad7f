"""`python -m bench [--full] [--only 1,3] [--profile]`: run the figures, write the report.

Default sizes finish in a few minutes on two cores; `--full` runs the issue's full
sizes. `--only` runs some figures (the report keeps the other figures' last results
from the JSON file of the same mode). Size flags (`--n`, `--m`, ...) override a
mode's sizes for a quick try; with any of them the results are written under
`docs/bench-results/custom.json` so they never replace a mode's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import burst, capacity, latency, lifecycle, profile, report, trays
from bench.common import bench_stack, log, machine
from config import ROOT

RESULTS = ROOT / "docs" / "bench-results"
DOC = ROOT / "docs" / "BENCHMARKS.md"


@dataclass
class Sizes:
    lifecycle_n: list[int] = field(default_factory=lambda: [100])
    rates: list[float] = field(default_factory=lambda: [10.0, 30.0])
    rate_seconds: float = 10.0
    burst_m: int = 100
    capacity_k: int = 400
    tray_rows: int = 20_000
    tray_requests: int = 400
    repetitions: int = 2
    api_connections: int = lifecycle.API_CONNECTIONS


DEFAULT = Sizes()
FULL = Sizes(lifecycle_n=[200, 1000], rate_seconds=30.0, burst_m=1000, capacity_k=10_000,
             tray_rows=100_000, tray_requests=1000)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="the issue's full sizes")
    p.add_argument("--only", default="1,2,3,4,5",
                   help="figures to run, e.g. 1,3 ('' with --profile: the profile alone)")
    p.add_argument("--profile", action="store_true",
                   help="also profile the project's worker and API during figure 1 (py-spy)")
    p.add_argument("--reps", type=int, help="repetitions of each figure (at least 2)")
    p.add_argument("--n", type=int, nargs="+", help="figure 1: concurrent lifecycles")
    p.add_argument("--rates", type=float, nargs="+", help="figure 2: offered rates per second")
    p.add_argument("--seconds", type=float, help="figure 2: seconds at each rate")
    p.add_argument("--m", type=int, help="figure 3: transfers due at once")
    p.add_argument("--k", type=int, help="figure 4: open transfers")
    p.add_argument("--rows", type=int, help="figure 5: transfers in the PostgreSQL store")
    p.add_argument("--api-connections", type=int,
                   help="most API requests in flight at once (default %(default)s)")
    p.add_argument("--no-write", action="store_true", help="print the results, write nothing")
    p.add_argument("--render", action="store_true",
                   help="only write docs/BENCHMARKS.md again from the JSON results")
    return p.parse_args()


async def main() -> int:
    args = parse()
    if args.render:
        DOC.write_text(report.render(RESULTS), encoding="utf-8")
        return 0
    sizes = FULL if args.full else DEFAULT
    overrides = {k: v for k, v in {
        "lifecycle_n": args.n, "rates": args.rates, "rate_seconds": args.seconds,
        "burst_m": args.m, "capacity_k": args.k, "tray_rows": args.rows,
        "repetitions": args.reps, "api_connections": args.api_connections}.items()
        if v is not None}
    sizes = replace(sizes, **overrides)
    mode = "custom" if set(overrides) - {"api_connections"} else (
        "full" if args.full else "default")
    only = {int(x) for x in args.only.split(",") if x.strip()}
    out = RESULTS / f"{mode}.json"
    previous: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    figures: dict[str, Any] = dict(previous.get("figures", {})) if only != {1, 2, 3, 4, 5} \
        else {}
    started = time.time()
    info = machine()
    log(f"bench ({mode}): figures {sorted(only)}, sizes {asdict(sizes)}")
    reps = sizes.repetitions
    timings: dict[str, float] = dict(previous.get("seconds_per_figure", {})) \
        if only != {1, 2, 3, 4, 5} else {}

    async def figure(name: str, work: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """Run one figure; a failure is recorded (and the run goes on to the next)."""
        t = time.time()
        try:
            figures[name] = await work()
        except Exception as exc:  # noqa: BLE001 - reported in the results and the doc
            log(f"{name} failed: {type(exc).__name__}: {exc}")
            figures[name] = {"figure": name, "failed": f"{type(exc).__name__}: {exc}"[:500]}
        timings[name] = round(time.time() - t, 1)

    if only & {1, 2}:
        async with bench_stack("lifecycle") as bs:
            if 1 in only:
                await figure("lifecycle", lambda: lifecycle.run(
                    bs, sizes.lifecycle_n, reps, sizes.api_connections))
            if 2 in only:
                await figure("latency", lambda: latency.run(
                    bs, sizes.rates, sizes.rate_seconds, reps, sizes.api_connections))
    if 3 in only:
        async def run_burst() -> dict[str, Any]:
            with tempfile.TemporaryDirectory(prefix="bench-protocols-") as folder:
                protocols = burst.write_protocols(Path(folder))
                async with bench_stack("burst", env={"PROTOCOLS_DIR": str(protocols)}) as bs:
                    return await burst.run(bs, sizes.burst_m, reps)

        await figure("burst", run_burst)
    if 4 in only:
        await figure("capacity", lambda: capacity.run(sizes.capacity_k, reps,
                                                      sizes.api_connections))
    if 5 in only:
        await figure("trays", lambda: trays.run(sizes.tray_rows, reps, sizes.tray_requests,
                                                profile.py_spy() if args.profile else None))
    prof = previous.get("profile")
    if args.profile:
        t = time.time()
        try:
            prof = await profile.run(sizes.lifecycle_n[0], sizes.api_connections)
        except Exception as exc:  # noqa: BLE001 - reported
            log(f"profile failed: {type(exc).__name__}: {exc}")
            prof = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        timings["profile"] = round(time.time() - t, 1)

    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    this_run = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "seconds": round(time.time() - started, 1),
    }
    partial_run = only != {1, 2, 3, 4, 5} and bool(previous)
    if partial_run:  # keep the whole run's header; list this one as a later, partial run
        result = dict(previous)
        result["later_runs"] = [*previous.get("later_runs", []), {
            **this_run, "figures": sorted(only), "profile": args.profile,
            "loadavg": [info["loadavg_at_start"], info["loadavg_at_end"]]}]
    else:
        result = {"mode": mode, **this_run, "sizes": asdict(sizes), "machine": info}
    result.update(seconds_per_figure=timings, figures=figures, profile=prof)
    log(f"bench done in {this_run['seconds']:.0f} s")
    if args.no_write:
        json.dump(result, sys.stdout, indent=1)
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    DOC.write_text(report.render(RESULTS), encoding="utf-8")
    log(f"wrote {out.relative_to(ROOT)} and {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
