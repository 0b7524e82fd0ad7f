"""Driving transfers the way managers do (the API) and the bare baseline (the Temporal client)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client, WorkflowHandle

from bench.bare import BareTransfer
from bench.common import BARE_QUEUE
from ops.demo import demo_token

AUTHORITY = "gateshead"
PATHWAY = "sgcp-to-lac"
CHECKLIST = ["chronology_up_to_date", "recording_up_to_date", "relationships_up_to_date",
             "genogram_current", "observations_up_to_date", "assessments_up_to_date"]
SGCP_TM = demo_token(f"{AUTHORITY}-sgcp-tm")
SGCP_SW = demo_token(f"{AUTHORITY}-sgcp-sw")
LAC_TM = demo_token(f"{AUTHORITY}-lac-tm")
LAC_SW = demo_token(f"{AUTHORITY}-lac-sw")

# The Gateshead actions taken before the transfer can happen (no order between them; the IRO
# last, so that an overdue case moves at once, before its Service Manager is due an email).
GATE_ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("authorise-summary", SGCP_TM, None),
    ("complete-checklist", SGCP_TM, {"items": CHECKLIST}),
    ("record-care-order", SGCP_TM, None),
    ("inform-iro", SGCP_SW, None),
]
# From start to allocated: the last requirement moves the case (its agreed date has passed).
LIFECYCLE: list[tuple[str, str, dict[str, Any] | None]] = [
    *GATE_ACTIONS,
    ("allocate", LAC_TM, {"worker_id": "W1"}),
]


class ApiError(RuntimeError):
    pass


RETRIES = 3


class Api:
    """An httpx client with at most `connections` requests in flight. Requests beyond that
    wait on a semaphore (cheap) rather than in httpx's pool, whose waiting costs the load
    generator milliseconds of CPU per request on the cores it shares with the system."""

    def __init__(self, base_url: str, connections: int) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(60.0),
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections))
        self._slots = asyncio.Semaphore(connections)
        self.retries = 0

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST; a 503 or 504 is sent again (same Idempotency-Key: it acts at most once), as
        the API's answer asks a client to, up to RETRIES times."""
        for attempt in range(RETRIES + 1):
            async with self._slots:
                response = await self.http.post(url, **kwargs)
            if response.status_code not in (503, 504) or attempt == RETRIES:
                return response
            self.retries += 1
            await asyncio.sleep(1.0)
        raise AssertionError("unreachable")

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        async with self._slots:
            return await self.http.get(url, **kwargs)

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


def api_client(base_url: str, connections: int) -> Api:
    return Api(base_url, connections)


def transfer_id(case_id: str) -> str:
    return f"transfer-{AUTHORITY}-{case_id}"


async def start_transfer(http: Api, case_id: str, anchor_at: datetime,
                         pathway: str = PATHWAY) -> dict[str, Any]:
    response = await http.post(
        "/transfers",
        headers={"Authorization": f"Bearer {SGCP_TM}", "Idempotency-Key": f"start-{case_id}"},
        json={"authority": AUTHORITY, "pathway": pathway, "case_id": case_id,
              "children": [case_id], "anchor_at": anchor_at.isoformat()})
    if response.status_code != 201:
        raise ApiError(f"start {case_id}: {response.status_code} {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body


async def act(http: Api, case_id: str, action: str, token: str,
              body: dict[str, Any] | None, key: str) -> dict[str, Any]:
    response = await http.post(
        f"/transfers/{transfer_id(case_id)}/actions/{action}",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        json=body)
    if response.status_code != 200:
        raise ApiError(f"{action} on {case_id}: {response.status_code} {response.text[:200]}")
    result: dict[str, Any] = response.json()
    return result


def long_ago() -> datetime:
    """An anchor far enough back that the 10-working-day deadline and agreed date have passed
    (28 calendar days hold at least 16 working days, bank holidays or not)."""
    return datetime.now(UTC) - timedelta(days=28)


async def project_lifecycle(http: Api, case_id: str) -> str:
    """Start (overdue at once), the four gates' actions (the last transfers it now),
    allocate."""
    await start_transfer(http, case_id, long_ago())
    view: dict[str, Any] = {}
    for action, token, body in LIFECYCLE:
        view = await act(http, case_id, action, token, body, f"{action}-{case_id}")
    stage = str(view.get("stage"))
    if stage != "allocated":
        raise ApiError(f"{case_id} ended {stage}, not allocated")
    return stage


async def start_bare(client: Client, wf_id: str, updates: int = 3
                     ) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(BareTransfer.run, updates, id=wf_id,
                                       task_queue=BARE_QUEUE)


async def bare_lifecycle(client: Client, wf_id: str) -> str:
    """Start, three Updates one after the other, and the result (after the second activity)."""
    handle = await start_bare(client, wf_id)
    for n in range(3):
        await handle.execute_update(BareTransfer.act, f"action-{n}", id=f"{wf_id}:{n}")
    result = await handle.result()
    if len(result) != 3:
        raise ApiError(f"{wf_id} ended with {result}")
    return "done"
