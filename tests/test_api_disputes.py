"""A dispute, a warning and an extension taken through the HTTP API (Nottingham, seed 002)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.deps import AppState
from api.main import create_app
from config import Settings
from models.protocol_files import load_protocols
from tests.scenario import PROTOCOLS

TRANSFER = "/transfers/transfer-nottingham-N42"


def as_(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-nottingham-{who}"}


@pytest.fixture
async def api(ts_env: WorkflowEnvironment, worker: Worker, directory_engine: Any
              ) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(temporal_task_queue=worker.task_queue)
    app = create_app(AppState(settings=settings, engine=directory_engine,
                              temporal=ts_env.client,
                              protocols=load_protocols(settings.protocols_dir)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def act(api: httpx.AsyncClient, action: str, who: str, **body: Any) -> httpx.Response:
    return await api.post(f"{TRANSFER}/actions/{action}", json=body or None, headers=as_(who))


async def test_dispute_through_the_api(api: httpx.AsyncClient) -> None:
    started = await api.post("/transfers", headers=as_("fieldwork-tm"), json={
        "authority": "nottingham", "pathway": "fieldwork-to-cic", "case_id": "N42",
        "children": ["N42", "N43"]})
    assert started.status_code == 201, started.text
    assert started.json()["children"] == ["N42", "N43"]
    today = started.json()["anchor_at"][:10]  # the order granted "today" (a UTC date is never
    # ahead of London's, so never in the future)
    items = PROTOCOLS["nottingham"].pathways["fieldwork-to-cic"].gates["checklist"].items
    for action, who, body in [("confirm-receipt", "cic-tm", {}),
                              ("record-order-granted", "fieldwork-tm", {"date": today}),
                              ("record-joint-visit", "cic-sw", {}),
                              ("complete-checklist", "fieldwork-tm", {"items": items}),
                              ("initiate", "fieldwork-tm", {})]:
        assert (await act(api, action, who, **body)).status_code == 200
    no_reason = await act(api, "dispute", "cic-tm")
    assert no_reason.status_code == 422 and "Say why" in no_reason.json()["detail"]
    disputed = await act(api, "dispute", "cic-tm", note="Care plan not on file")
    assert disputed.status_code == 200
    body = disputed.json()
    assert (body["stage"], body["escalation_level"], body["responsible_team"]) == (
        "disputed", 1, "fieldwork")
    assert (await act(api, "acknowledge-dispute", "fieldwork-sm")).status_code == 200
    wrong = await act(api, "resolve-dispute", "cic-tm", resolution="proceed", note="x")
    assert wrong.status_code == 403
    no_team = await act(api, "resolve-dispute", "cic-sm", resolution="redirect", note="x")
    assert no_team.status_code == 422 and "to_team" in no_team.json()["detail"]
    resolved = await act(api, "resolve-dispute", "cic-sm", resolution="proceed",
                         note="Plan filed today; transfer agreed")
    assert resolved.status_code == 200
    assert (resolved.json()["stage"], resolved.json()["responsible_team"]) == (
        "transferred", "cic")
    trail = (await api.get(f"{TRANSFER}/events", headers=as_("cic-tm"))).json()
    notes = {e["kind"]: e["note"] for e in trail}
    assert notes["disputed"] == "Care plan not on file"
    assert notes["dispute_resolved"] == "Plan filed today; transfer agreed"
    assert "dispute_acknowledged" in notes


async def test_extension_through_the_api(api: httpx.AsyncClient) -> None:
    started = await api.post("/transfers", headers=as_("fieldwork-tm"), json={
        "authority": "nottingham", "pathway": "fieldwork-to-cic", "case_id": "N42"})
    # The 10 days run from the order granted (a UTC date is never ahead of London's).
    assert (await act(api, "record-order-granted", "fieldwork-tm",
                      date=started.json()["anchor_at"][:10])).status_code == 200
    view = (await api.get(TRANSFER, headers=as_("cic-tm"))).json()
    due = next(d for d in view["deadlines"] if d["id"] == "transfer_by")["due_at"]
    # A working day well after the 10 days: the third Wednesday of the next February.
    february = date(int(due[:4]) + 1, 2, 15)
    later = (february + timedelta(days=(2 - february.weekday()) % 7)).isoformat()
    refused = await act(api, "extend-deadline", "fieldwork-tm", deadline="transfer_by",
                        until=later, note="Court adjourned")
    assert refused.status_code == 403
    unnamed = await act(api, "extend-deadline", "fieldwork-sm", until=later, note="x")
    assert unnamed.status_code == 422 and "deadline" in unnamed.json()["detail"]
    extended = await act(api, "extend-deadline", "fieldwork-sm", deadline="transfer_by",
                         until=later, note="Final hearing adjourned by the court")
    assert extended.status_code == 200, extended.text
    after = next(d for d in extended.json()["deadlines"] if d["id"] == "transfer_by")
    assert after["due_at"].startswith(later) and after["extended"] is True
    trail = (await api.get(f"{TRANSFER}/events", headers=as_("cic-tm"))).json()
    assert trail[-1]["kind"] == "deadline_extend"
    assert trail[-1]["note"] == "Final hearing adjourned by the court"
