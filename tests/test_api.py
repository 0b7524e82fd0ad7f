"""The HTTP API against a real worker, the time-skipping server and a SQLite case store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.deps import AppState
from api.main import create_app
from config import Settings
from models.protocol_files import load_protocols
from tests import dates
from tests.transfers import CHECKLIST, events, eventually, skip_to

TRANSFER = "/transfers/transfer-gateshead-C100234"
START = {"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": "C100234",
         "children": ["C100234", "C100235"]}


def token(who: str) -> dict[str, str]:
    """Sign in as a Gateshead demo staff member, e.g. `sgcp-tm`."""
    return {"Authorization": f"Bearer demo-gateshead-{who}"}


@pytest.fixture
async def api(ts_env: WorkflowEnvironment, worker: Worker, directory_engine: Any
              ) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(temporal_task_queue=worker.task_queue)
    state = AppState(settings=settings, engine=directory_engine, temporal=ts_env.client,
                     protocols=load_protocols(settings.protocols_dir))
    app = create_app(state)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def act(api: httpx.AsyncClient, action: str, who: str, key: str,
              **body: Any) -> httpx.Response:
    return await api.post(f"{TRANSFER}/actions/{action}", json=body or None,
                          headers={**token(who), "Idempotency-Key": key})


async def test_start_refuses_clearly(api: httpx.AsyncClient) -> None:
    assert (await api.post("/transfers", json=START)).status_code == 401
    wrong_role = await api.post("/transfers", json=START, headers=token("sgcp-sw"))
    assert wrong_role.status_code == 403
    assert "Only the Team Manager of sgcp" in wrong_role.json()["detail"]
    for change, words in [({"pathway": "sgcp-to-mars"}, "has no such pathway"),
                          ({"authority": "gateshead", "case_id": "Jane Smith"}, "pattern"),
                          ({"anchor_at": (dates.now() + timedelta(days=1)).isoformat()},
                           "cannot be in the future"),
                          ({"anchor_at": "2026-01-01T09:00:00"}, "timezone"),
                          # Fri 19 Dec 2025: the 10th working day after it is Wed 7 Jan 2026.
                          ({"anchor_at": "2025-12-19T10:00:00Z",
                            "agreed_transfer_date": "2025-12-26"}, "not a working day"),
                          ({"anchor_at": "2025-12-19T10:00:00Z",
                            "agreed_transfer_date": "2026-01-08"}, "on or before the deadline"),
                          ({"anchor_at": "2025-12-19T10:00:00Z",
                            "agreed_transfer_date": "2025-12-18"}, "cannot be before")]:
        response = await api.post("/transfers", json={**START, **change}, headers=token("sgcp-tm"))
        assert response.status_code == 422, response.text
        assert words in response.json()["detail"]  # a sentence, whatever refused it


async def test_a_transfer_through_the_api(api: httpx.AsyncClient, ts_env: WorkflowEnvironment,
                                          directory_engine: Any) -> None:
    anchor = await ts_env.get_current_time()
    started = await api.post("/transfers", json={**START, "anchor_at": anchor.isoformat()},
                             headers={**token("sgcp-tm"), "Idempotency-Key": "start-1"})
    assert started.status_code == 201, started.text
    body = started.json()
    assert (body["stage"], body["responsible_team"]) == ("proposed", "sgcp")
    due = {d["id"]: d["due_at"] for d in body["deadlines"]}
    assert set(due) == {"transfer_by", "meeting_by", "transfer_date"}
    assert all(datetime.fromisoformat(v).utcoffset() is not None for v in due.values())
    again = await api.post("/transfers", json=START,
                           headers={**token("sgcp-tm"), "Idempotency-Key": "start-1"})
    assert again.status_code == 201 and again.json()["run_id"] == body["run_id"]
    other = await api.post("/transfers", json=START, headers=token("sgcp-tm"))
    assert other.status_code == 409
    assert "already has an open transfer" in other.json()["detail"]

    assert (await act(api, "authorise-summary", "lac-tm", "k1")).status_code == 403
    assert (await act(api, "authorise-summary", "sgcp-tm", "k1")).status_code == 200
    retried = await act(api, "authorise-summary", "sgcp-tm", "k1")
    assert retried.status_code == 200
    repeated = await act(api, "authorise-summary", "sgcp-tm", "k2")
    assert repeated.status_code == 409
    assert "already recorded" in repeated.json()["detail"]
    short = await act(api, "complete-checklist", "sgcp-tm", "k3", items=CHECKLIST[:1])
    assert short.status_code == 422 and "Not confirmed" in short.json()["detail"]
    assert (await act(api, "complete-checklist", "sgcp-tm", "k4", items=CHECKLIST)
            ).status_code == 200
    early = await act(api, "allocate", "lac-tm", "k5", worker_id="W1")
    assert early.status_code == 409 and "transfer is proposed" in early.json()["detail"]
    assert (await act(api, "inform-iro", "sgcp-sw", "k6", note="Spoke to the IRO")
            ).status_code == 200
    assert (await act(api, "record-meeting", "lac-sw", "k7",
                      attendees=["child", "lac_social_worker", "sgcp_social_worker"])
            ).status_code == 200
    assert (await act(api, "record-care-order", "lac-tm", "k8")).status_code == 403
    ready = await act(api, "record-care-order", "sgcp-tm", "k8b")
    assert ready.json()["stage"] == "ready"
    assert (await act(api, "allocate", "lac-tm", "k9")).status_code == 422

    await skip_to(ts_env, datetime.fromisoformat(ready.json()["transfer_date"])
                  + timedelta(minutes=1))

    async def stage() -> str:
        return str((await api.get(TRANSFER, headers=token("lac-tm"))).json()["stage"])

    for _ in range(200):
        if await stage() == "transferred":
            break
        await asyncio.sleep(0.05)
    allocated = await act(api, "allocate", "lac-tm", "k10", worker_id="W1")
    assert allocated.status_code == 200, allocated.text
    assert (allocated.json()["stage"], allocated.json()["responsible_team"]) == ("allocated",
                                                                               "lac")

    trail = (await api.get(f"{TRANSFER}/events", headers=token("sgcp-tm"))).json()
    kinds = [e["kind"] for e in trail]
    assert kinds.count("gate:summary_authorised") == 1  # the retried request acted once
    assert kinds[-2:] == ["transferred", "allocated"]
    iro = next(e for e in trail if e["kind"] == "gate:iro_informed")
    assert (iro["actor_id"], iro["note"]) == ("gateshead-sgcp-sw", "Spoke to the IRO")
    assert len(events(directory_engine, body["run_id"])) == len(trail)

    tray = (await api.get("/transfers", params={"team": "lac", "stage": "allocated"},
                          headers=token("lac-tm"))).json()
    assert [t["case_id"] for t in tray["data"]] == ["C100234"] and tray["count"] == 1
    # A tray item is the stored view as sent: the same TransferView as the transfer's own.
    assert tray["data"][0] == (await api.get(TRANSFER, headers=token("lac-tm"))).json()
    overdue = await api.get("/transfers", params={"overdue": "true"}, headers=token("lac-tm"))
    assert overdue.json()["count"] == 0

    async def mail_for_lac_tm() -> list[dict[str, Any]]:
        got = await api.get("/notifications", params={"recipient": "gateshead-lac-tm"},
                            headers=token("lac-tm"))
        return list(got.json())

    sent: list[dict[str, Any]] = []
    for _ in range(100):
        sent = await mail_for_lac_tm()
        if sent and all(n["sent_at"] for n in sent):
            break
        await asyncio.sleep(0.05)
    subjects = [n["subject"] for n in sent]
    assert any("transfer proposed to your team" in s for s in subjects)
    assert any("case transferred to lac" in s for s in subjects)
    assert all(n["sent_at"] for n in sent)


async def test_concurrent_requests_with_one_key_act_once(api: httpx.AsyncClient,
                                                         ts_env: WorkflowEnvironment,
                                                         directory_engine: Any) -> None:
    started = await api.post("/transfers", json=START, headers=token("sgcp-tm"))
    run_id = started.json()["run_id"]
    answers = await asyncio.gather(*[act(api, "authorise-summary", "sgcp-tm", "same-key")
                                     for _ in range(5)])
    assert {a.status_code for a in answers} == {200}
    await eventually(lambda: events(directory_engine, run_id), lambda e: len(e) == 2)
    assert [e.kind for e in events(directory_engine, run_id)] == ["started",
                                                                  "gate:summary_authorised"]


async def test_reads_need_a_token_and_stay_in_the_authority(api: httpx.AsyncClient) -> None:
    assert (await api.get(TRANSFER)).status_code == 401
    bad = await api.get(TRANSFER, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and "not recognised" in bad.json()["detail"]
    missing = await api.get("/transfers/transfer-gateshead-C999", headers=token("lac-tm"))
    assert missing.status_code == 404
    assert (await api.get("/notifications")).status_code == 401


# ----- request hygiene (issue 10: limits and headers) ------------------------------------------

async def test_an_oversized_body_is_refused_before_it_is_read_or_the_token_checked(
        api: httpx.AsyncClient) -> None:
    limit = Settings().max_body_bytes
    big = b'{"note": "' + b"x" * limit + b'"}'
    for headers in ({}, token("sgcp-tm")):  # not signed in, or signed in: the same refusal
        refused = await api.post(f"{TRANSFER}/actions/authorise-summary", content=big,
                                 headers={**headers, "Content-Type": "application/json"})
        assert refused.status_code == 413
        assert refused.json() == {
            "detail": f"The request is too large: at most {limit} bytes are accepted"}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(limit // 1024 + 2):
            yield b"x" * 1024

    streamed = await api.post("/transfers", content=chunks(),
                              headers={**token("sgcp-tm"), "Content-Type": "application/json"})
    assert streamed.status_code == 413


async def test_every_answer_carries_the_security_headers(api: httpx.AsyncClient) -> None:
    for response in (await api.get("/transfers"),  # 401
                     await api.get("/transfers", headers=token("sgcp-tm"))):  # 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == \
            "default-src 'none'; frame-ancestors 'none'"
    docs = await api.get("/docs")
    assert docs.status_code == 200
    assert "script-src 'self';" in docs.headers["content-security-policy"]  # tests/test_docs.py
