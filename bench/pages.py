"""Figure 5's page and report measurements, on the same PostgreSQL fill as the tray:

* the work tray PAGE (`GET /pages/tray`) p95, signed in through the pages' own sign-in
  (the development chooser) as the SGCP Team Manager, one request at a time;
* the timeliness report (`GET /reports/timeliness`) over every month the fill's transfers
  started in, as Gateshead's director (the whole authority): each of a few requests timed;
* the report PAGE (`GET /pages/report`, the same months, its charts drawn), signed in as the
  director: what a manager waits for, the report's query plus the charts.
"""

from __future__ import annotations

import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import latency_summary, log
from bench.drive import AUTHORITY, Api
from ops.demo import demo_token

WARMUP = 10
REPORTS = 5
READER = f"{AUTHORITY}-sgcp-tm"
DIRECTOR_ID = f"{AUTHORITY}-director"
DIRECTOR = demo_token(DIRECTOR_ID)


async def sign_in(http: Api, staff_id: str) -> None:
    """The pages' session cookie, kept by the client (path /pages)."""
    chooser = await http.get("/pages/sign-in", params={"authority": AUTHORITY})
    token = re.search(r'name="csrf_token" value="([^"]+)"', chooser.text)
    if chooser.status_code != 200 or token is None:
        raise RuntimeError(f"no sign-in chooser: {chooser.status_code}")
    done = await http.http.post("/pages/sign-in", data={"csrf_token": token[1],
                                                        "staff_id": staff_id})
    if done.status_code != 303 or "sign-in" in done.headers.get("location", "sign-in"):
        raise RuntimeError(f"sign-in as {staff_id} failed: {done.status_code}")


async def measure_tray_page(http: Api, requests: int) -> dict[str, Any]:
    await sign_in(http, READER)
    latencies: list[float] = []
    errors = 0
    for i in range(WARMUP + requests):
        t0 = time.perf_counter()
        response = await http.get("/pages/tray", params={"overdue": "yes"})
        elapsed = time.perf_counter() - t0
        if response.status_code != 200 or "My work tray" not in response.text:
            errors += 1
        elif i >= WARMUP:
            latencies.append(elapsed)
    summary = latency_summary(latencies)
    log(f"  fig5 tray page p95 {summary['p95_ms']:.1f} ms ({errors} errors)")
    return {"path": "/pages/tray?overdue=yes", "staff": READER, "requests": requests,
            "errors": errors, "latency": summary}


def months(days: int, now: datetime | None = None) -> tuple[str, str]:
    """The first and last month (UTC is near enough: the fill's starts stay a day clear)."""
    now = now or datetime.now(UTC)
    first = now - timedelta(days=days + 1)
    return first.strftime("%Y-%m"), now.strftime("%Y-%m")


async def measure_report(http: Api, days: int) -> dict[str, Any]:
    first, last = months(days)
    seconds: list[float] = []
    transfers = None
    for _ in range(1 + REPORTS):  # the first warms the bank-holiday cache and the plans
        t0 = time.perf_counter()
        response = await http.get("/reports/timeliness", params={"from": first, "to": last},
                                  headers={"Authorization": f"Bearer {DIRECTOR}"})
        seconds.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise RuntimeError(f"report: {response.status_code} {response.text[:200]}")
        transfers = response.json()["total"]["transfers"]
    timed = seconds[1:]
    log(f"  fig5 report over {transfers} transfers: median {statistics.median(timed):.2f} s")
    return {"from": first, "to": last, "transfers": transfers, "requests": REPORTS,
            "median_s": round(statistics.median(timed), 3), "max_s": round(max(timed), 3),
            "first_s": round(seconds[0], 3)}


async def measure_report_page(http: Api, days: int) -> dict[str, Any]:
    """Signs the client in as the director (after the tray page: the session changes)."""
    await sign_in(http, DIRECTOR_ID)
    first, last = months(days)
    seconds: list[float] = []
    for _ in range(1 + REPORTS):
        t0 = time.perf_counter()
        response = await http.get("/pages/report", params={"from": first, "to": last})
        seconds.append(time.perf_counter() - t0)
        if response.status_code != 200 or "data:image/svg+xml" not in response.text:
            raise RuntimeError(f"report page: {response.status_code} {response.text[:200]}")
    timed = seconds[1:]
    log(f"  fig5 report page: median {statistics.median(timed):.2f} s")
    return {"from": first, "to": last, "requests": REPORTS,
            "median_s": round(statistics.median(timed), 3), "max_s": round(max(timed), 3),
            "first_s": round(seconds[0], 3)}
