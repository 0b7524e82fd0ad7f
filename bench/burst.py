"""Figure 3: deadline burst.

M transfers whose deadline falls on the same instant, as working-day deadlines do
at the end of a day. A bench-only protocol (Gateshead's, plus a pathway
`bench-burst` whose one deadline runs `within: 2 hours` from the anchor and, when
missed, emails the sending Team Manager) is written to a temporary protocols
directory that the worker and the API are started with (PROTOCOLS_DIR). Each
transfer is started through the API with its anchor two hours before the chosen
instant, so all M fall due together a little after the set-up ends. Measured: from
the due instant to each breach email accepted by the SMTP sink (p50 / p99 / max),
against M bare workflows sleeping until the same kind of instant and then sending
one email each from an activity to the same sink.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from bench.bare import BareDeadline
from bench.common import BARE_QUEUE, BenchStack, CpuMeter, bounded_gather, latency_summary, log
from bench.drive import api_client, start_transfer
from config import ROOT
from models.protocol_files import load_protocols

PATHWAY = "bench-burst"
WITHIN_HOURS = 2
BURST_PATHWAY: dict[str, Any] = {
    "title": "Bench only: one deadline, due at the same instant for every transfer",
    "from": "sgcp",
    "to": "lac",
    "anchor": {"name": "bench_anchor", "title": "Bench anchor"},
    "gates": {"accepted": {"title": "Accepted", "action": "accept",
                           "by": "team_manager@to"}},
    "transfer": {"when": "gates", "requires": ["accepted"]},
    "allocation": {"by": "team_manager@to"},
    "start_by": "team_manager@from",
    "withdraw_by": "team_manager@from",
    "deadlines": {"due": {
        "title": "Bench deadline",
        "from": "anchor",
        "within": f"{WITHIN_HOURS} hours",
        "met_when": "transferred",
        "on_breach": [{"notify": "team_manager@from"}],
    }},
}
SETUP_CONCURRENCY = 10
# Set-up pace assumed when choosing the due instant (the instant must come after the last
# start); a run whose set-up overran it says so in its result.
PROJECT_STARTS_PER_S = 5.0
BARE_STARTS_PER_S = 40.0
LEAD_MARGIN_S = 10.0
ON_TIME_S = 1.0  # a start answered later than this before the due instant is left out


def write_protocols(folder: Path) -> Path:
    """Gateshead's protocol with the bench pathway added, alone in `folder`; validated."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load((ROOT / "protocols" / "gateshead.yaml").read_text(encoding="utf-8"))
    raw["pathways"][PATHWAY] = BURST_PATHWAY
    (folder / "gateshead.yaml").write_text(yaml.safe_dump(raw, sort_keys=False),
                                           encoding="utf-8")
    load_protocols(folder)  # refuse to go on with a protocol the worker would refuse
    return folder


async def _drain(bs: BenchStack, needle: str, mine: set[str], side: str, expected: int,
                 due: float, limit: float) -> None:
    """Wait until this run's `expected` emails arrived (or `limit` s after the due instant)."""
    while time.time() < due + limit:
        got = [a for a in bs.sink.accepted(needle) if _key_of(a.subject, side) in mine]
        if len(got) >= expected:
            return
        await asyncio.sleep(0.5)


async def measure(bs: BenchStack, side: str, m: int, tag: str) -> dict[str, Any]:
    pace = PROJECT_STARTS_PER_S if side == "project" else BARE_STARTS_PER_S
    lead = LEAD_MARGIN_S + m / pace
    due = float(int(time.time() + lead))  # a whole second, as deadlines are
    due_at = datetime.fromtimestamp(due, UTC)
    setup_started = time.time()
    if side == "project":
        anchor = due_at - timedelta(hours=WITHIN_HOURS)
        needle = "deadline missed: Bench deadline"
        keys = [f"D{tag}x{i}" for i in range(m)]
        async with api_client(bs.stack.api_url, connections=SETUP_CONCURRENCY) as http:
            opened = await bounded_gather(
                [partial(_stamped, start_transfer(http, c, anchor, pathway=PATHWAY))
                 for c in keys], SETUP_CONCURRENCY)
    else:
        needle = "[bench] deadline missed: "
        keys = [f"B{tag}x{i}" for i in range(m)]
        opened = await bounded_gather(
            [partial(_stamped, bs.client.start_workflow(
                BareDeadline.run, args=[due, k], id=f"bare-deadline-{k}",
                task_queue=BARE_QUEUE)) for k in keys], 50)
    setup_s = time.time() - setup_started
    failed = [o for o in opened if isinstance(o, Exception)]
    # Only transfers whose start was answered before the due instant fall due together.
    mine = {k for k, o in zip(keys, opened, strict=True)
            if not isinstance(o, Exception) and o < due - ON_TIME_S}
    late = m - len(failed) - len(mine)
    overran = late > 0
    if failed:
        log(f"  fig3 {side}: {len(failed)} starts failed, e.g. {failed[0]}")
    if late:
        log(f"  fig3 {side}: {late} starts answered after the due instant; left out")
    log(f"  fig3 {side:7} M={m}: set up in {setup_s:.1f} s; due in "
        f"{due - time.time():.1f} s")
    await asyncio.sleep(max(0.0, due - time.time() - 2))
    meter = CpuMeter(bs.pids()).start()
    await _drain(bs, needle, mine, side, len(mine), due, limit=60 + m * 0.5)
    used = meter.stop()
    # Only this run's emails: each subject names its own case (project) or key (bare).
    ours = [a.at - due for a in bs.sink.accepted(needle) if _key_of(a.subject, side) in mine]
    summary = latency_summary(ours)
    worker = "worker" if side == "project" else "bare_worker"
    out = {
        "side": side, "m": m, "started": m - len(failed), "counted": len(mine),
        "starts_failed": len(failed), "starts_late": late, "emails": len(ours),
        "setup_s": round(setup_s, 1), "setup_overran_due_instant": overran,
        "delay": summary,
        "worker_cpu_ms_per_deadline": round(1000 * used[worker] / max(len(ours), 1), 2),
        "cpu_s": {k: round(v, 3) for k, v in used.items() if v == v},
    }
    log(f"  fig3 {side:7} M={m}: {len(ours)} emails; p50 {summary['p50_ms']:.0f} ms, p99 "
        f"{summary['p99_ms']:.0f} ms, max {summary['max_ms']:.0f} ms after the due instant")
    return out


async def _stamped(call: Awaitable[Any]) -> float:
    """Await a start; the time its answer came."""
    await call
    return time.time()


def _key_of(subject: str, side: str) -> str:
    """The case id (project: '[gateshead] Case D..: ...') or key (bare: '...: B..')."""
    if side == "project":
        return subject.split("Case ", 1)[-1].split(":", 1)[0]
    return subject.rsplit(": ", 1)[-1]


async def run(bs: BenchStack, m: int, reps: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for rep in range(reps):
        for side in ("bare", "project"):
            runs.append(await measure(bs, side, m, f"{m}r{rep}"))
    return {"figure": "burst", "m": m, "repetitions": reps, "within_hours": WITHIN_HOURS,
            "runs": runs}
