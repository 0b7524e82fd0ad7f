"""Bounds on requests: oversize strings, lists and maps, and implausible dates, refused with
a readable 422 before anything is started or acted on.

Shapes are refused before Temporal is reached (no server here, for those); the dates of an
action are judged against the transfer's anchor, so those run on the time-skipping server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client

from api.deps import AppState
from api.main import create_app
from config import Settings
from models.protocol_files import load_protocols
from tests.transfers import api_on, start

START = {"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": "C77"}
TM = {"Authorization": "Bearer demo-gateshead-sgcp-tm"}
LONG = "x" * 65


@pytest.fixture
async def api(directory_engine: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API with no Temporal behind it: every request here is refused before it."""
    settings = Settings()
    app = create_app(AppState(settings=settings, engine=directory_engine,
                              temporal=cast(Client, None),
                              protocols=load_protocols(settings.protocols_dir)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


def refused(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert all(w in detail for w in words), detail


@pytest.mark.parametrize(("change", "words"), [
    ({"authority": LONG}, ("authority", "at most 64 characters")),
    ({"pathway": LONG}, ("pathway", "at most 64 characters")),
    ({"children": [f"C{n}" for n in range(21)]}, ("children", "at most 20 items")),
    ({"parties": {f"p{n}": "lac" for n in range(51)}}, ("parties", "at most 50 items")),
    ({"parties": {LONG: "lac"}}, ("parties", "at most 64 characters")),
    ({"key_dates": {LONG: "2030-01-01"}}, ("key_dates", "at most 64 characters")),
    ({"externals": {f"e{n}": "newcastle" for n in range(51)}}, ("externals", "at most 50")),
])
async def test_an_oversize_start_is_refused(api, change, words):
    refused(await api.post("/transfers", json={**START, **change}, headers=TM), *words)


@pytest.mark.parametrize(("change", "words"), [
    ({"items": ["chronology_up_to_date"] * 51}, ("items", "at most 50 items")),
    ({"items": [LONG]}, ("items", "should match pattern")),  # names: 64 at most
    ({"attendees": ["team_manager@from"] * 51}, ("attendees", "at most 50 items")),
    ({"not_applicable": {f"item_{n}": "why" for n in range(51)}},
     ("not_applicable", "at most 50 items")),
    ({"not_applicable": {"item": "w" * 1001}}, ("not_applicable", "at most 1000 characters")),
    ({"deadline": LONG}, ("deadline", "should match pattern")),
    ({"to_team": LONG}, ("to_team", "should match pattern")),
    ({"note": "n" * 4001}, ("note", "at most 4000 characters")),
])
async def test_an_oversize_action_is_refused(api, change, words):
    response = await api.post("/transfers/transfer-gateshead-C77/actions/complete-checklist",
                              json=change, headers=TM)
    refused(response, *words)


async def test_oversize_path_and_query_parameters_are_refused(api):
    refused(await api.post(f"/transfers/transfer-gateshead-C77/actions/{LONG}", headers=TM),
            "action", "at most 64 characters")
    refused(await api.get(f"/transfers/{'t' * 121}", headers=TM), "at most 120 characters")
    refused(await api.get(f"/transfers/{'t' * 121}/events", headers=TM),
            "at most 120 characters")
    refused(await api.get("/transfers", params={"team": LONG}, headers=TM), "team")
    refused(await api.get("/notifications", params={"recipient": LONG}, headers=TM),
            "recipient")
    refused(await api.get("/notifications", params={"transfer_id": "t" * 121}, headers=TM),
            "transfer_id")


def ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


@pytest.mark.parametrize(("change", "words"), [
    ({"anchor_at": "1899-12-31T09:00:00Z"}, ("31 December 1899", "between 2000 and 2099")),
    ({"anchor_at": ago(400)}, ("more than a year ago",)),
    # Dates judged against the anchor (a weekday a week back), so the rule is the same
    # whatever day it is run.
    ({"anchor_at": ago(7), "agreed_transfer_date": "9999-12-31"},
     ("agreed transfer date 31 December 9999 is not plausible",)),
    ({"anchor_at": ago(7), "key_dates": {"turns_15_and_a_half": "1900-01-01"}},
     ("key date turns_15_and_a_half 01 January 1900 is not plausible",)),
])
async def test_an_implausible_date_at_the_start_is_refused(api, change, words):
    refused(await api.post("/transfers", json={**START, **change}, headers=TM), *words)


async def test_an_implausible_date_in_an_action_is_refused(ts_env, worker, directory_engine):
    anchor = await ts_env.get_current_time()
    _, view = await start(ts_env.client, worker, anchor, case_id="C78")
    late = anchor + timedelta(days=6 * 366)
    async with api_on(directory_engine, ts_env, worker) as api:
        base = f"/transfers/{view.transfer_id}/actions"
        key = {**TM, "Idempotency-Key": str(uuid.uuid4())}
        for action, body, words in [
            ("extend-deadline", {"deadline": "transfer_by", "until": late.date().isoformat()},
             "until date"),
            ("set-transfer-date", {"transfer_date": late.date().isoformat()}, "transfer date"),
            ("record-meeting", {"date": "0001-01-01"}, "The date 01 January 1 is"),
            ("set-key-date", {"key_date": "turns_18", "date": "2100-01-01"}, "key date"),
        ]:
            refused(await api.post(f"{base}/{action}", json=body, headers=key), words,
                    "is not plausible for this transfer")
        # Nothing was acted on.
        events = (await api.get(f"/transfers/{view.transfer_id}/events", headers=TM)).json()
        assert [e["kind"] for e in events] == ["started"]
