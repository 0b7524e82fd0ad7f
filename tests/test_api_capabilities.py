"""The new capabilities through the HTTP API: parties and key dates at the start, reasons
for items that do not apply, disputes raised at large, key dates set later."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.deps import AppState
from api.main import create_app
from config import Settings
from models.protocol_files import load_protocols
from ops.demo import seed_demo_directory
from tests.conftest import ADDRESSES
from tests.test_engine_capabilities import TESTSHIRE, june_monday
from tests.transfers import skip_to

T = "testshire"


def token(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{T}-{who}"}


@pytest.fixture
async def api(ts_env: WorkflowEnvironment, worker: Worker, directory_engine: Any
              ) -> AsyncIterator[httpx.AsyncClient]:
    seed_demo_directory(directory_engine, {T: TESTSHIRE})
    settings = Settings(temporal_task_queue=worker.task_queue)
    protocols = {**load_protocols(settings.protocols_dir), T: TESTSHIRE}
    app = create_app(AppState(settings=settings, engine=directory_engine,
                              temporal=ts_env.client, protocols=protocols, addresses=ADDRESSES))
    await skip_to(ts_env, june_monday(await ts_env.get_current_time()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def start(api: httpx.AsyncClient, pathway: str, **extra: Any) -> httpx.Response:
    return await api.post("/transfers", json={"authority": T, "pathway": pathway,
                                              "case_id": "C7", **extra},
                          headers=token("alpha-tm"))


async def act(api: httpx.AsyncClient, action: str, who: str, key: str,
              **body: Any) -> httpx.Response:
    return await api.post(f"/transfers/transfer-{T}-C7/actions/{action}", json=body or None,
                          headers={**token(who), "Idempotency-Key": key})


async def test_a_party_is_named_at_the_start(api: httpx.AsyncClient) -> None:
    missing = await start(api, "third-party")
    assert missing.status_code == 422
    assert missing.json()["detail"].startswith("Name the team that made the original decision")
    started = await start(api, "third-party", parties={"original_team": "gamma"})
    assert started.status_code == 201, started.text
    assert started.json()["parties"] == {"original_team": "gamma"}
    # Delta has nothing to do with the case: to its staff it does not exist.
    assert (await act(api, "original-agrees", "delta-tm", "k0")).status_code == 404
    refused = await act(api, "original-agrees", "beta-tm", "k1")
    assert refused.status_code == 403 and "Team Manager of gamma" in refused.json()["detail"]
    assert (await act(api, "original-agrees", "gamma-tm", "k2")).status_code == 200
    # The party's team reads the transfer it was named on; another team does not.
    for who, code in (("gamma-sw", 200), ("delta-sw", 404)):
        assert (await api.get(f"/transfers/transfer-{T}-C7", headers=token(who))
                ).status_code == code, who


async def test_reasons_for_items_that_do_not_apply_are_kept_in_the_trail(
        api: httpx.AsyncClient) -> None:
    assert (await start(api, "checklist-na")).status_code == 201
    done = ["chronology", "case_summary", "legal_paperwork"]
    empty = await act(api, "complete-checklist", "alpha-tm", "k1", items=done,
                      not_applicable={"risk_assessment": ""})
    assert empty.status_code == 422
    assert "not_applicable.risk_assessment" in empty.json()["detail"]
    mandatory = await act(api, "complete-checklist", "alpha-tm", "k2",
                          items=done[1:] + ["risk_assessment"],
                          not_applicable={"chronology": "not kept"})
    assert mandatory.status_code == 422
    assert "cannot be marked not applicable" in mandatory.json()["detail"]
    ok = await act(api, "complete-checklist", "alpha-tm", "k3", items=done,
                   not_applicable={"risk_assessment": "no risk identified at assessment"})
    assert ok.status_code == 200, ok.text
    trail = (await api.get(f"/transfers/transfer-{T}-C7/events",
                           headers=token("alpha-tm"))).json()
    recorded = next(e for e in trail if e["kind"] == "gate:checklist")
    assert "not applicable: risk_assessment" in recorded["summary"]
    assert "risk_assessment: no risk identified at assessment" in recorded["note"]
    # The refused attempts kept no note.
    assert [e["note"] for e in trail if e["note"]] == [recorded["note"]]


async def test_a_dispute_raised_at_large(api: httpx.AsyncClient) -> None:
    assert (await start(api, "dispute-anywhere")).status_code == 201
    unexplained = await act(api, "raise-dispute", "beta-tm", "k1")
    assert unexplained.status_code == 422 and "Say why" in unexplained.json()["detail"]
    raised = await act(api, "raise-dispute", "beta-tm", "k2", note="not our remit")
    assert raised.status_code == 200
    assert raised.json()["stage"] == "disputed"
    assert raised.json()["dispute"]["gate"] is None


async def test_key_dates_at_the_start_and_later(api: httpx.AsyncClient,
                                                ts_env: WorkflowEnvironment) -> None:
    unknown = await start(api, "key-dates", key_dates={"date_of_birth": "2011-01-01"})
    assert unknown.status_code == 422
    assert "has no such key date" in unknown.json()["detail"]
    today = (await ts_env.get_current_time()).date()
    assert (await start(api, "key-dates")).status_code == 201
    later = today + timedelta(days=30)
    set_ = await act(api, "set-key-date", "beta-tm", "k1", key_date="turns_15_and_half",
                     date=later.isoformat())
    assert set_.status_code == 200, set_.text
    assert set_.json()["key_dates"] == {"turns_15_and_half": later.isoformat()}
    wrong = await act(api, "set-key-date", "beta-sw", "k2", key_date="turns_15_and_half",
                      date=later.isoformat())
    assert wrong.status_code == 403


async def test_another_council_is_named_at_the_start_by_its_identifier(api):
    started = await start(api, "transfer-out", externals={"other_authority": "northshire"})
    assert started.status_code == 201, started.text
    assert started.json()["externals"] == {"other_authority": "northshire"}
    assert started.json()["to_team"] == "other_authority"
    for externals, status, message in [
        ({}, 422, "Name the organisation for the other local authority in 'externals' "
                  "(other_authority: one of northshire, southshire)"),
        ({"other_authority": "westshire"}, 422, "No address is configured for 'westshire'"),
        ({"other_authority": "Jane Smith"}, 422, "externals.other_authority"),
    ]:
        refused = await api.post("/transfers", json={
            "authority": T, "pathway": "transfer-out", "case_id": "C8", "externals": externals},
            headers=token("alpha-tm"))
        assert refused.status_code == status and message in refused.text, refused.text
