"""Starting a transfer from the pages, in process: the pathways offered follow the role, a
refused start reads as the API's sentence and starts nothing, a double submission starts
once, and a form without the session's CSRF token is refused."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from api.deps import AppState
from api.main import create_app
from config import Settings
from models.protocol_files import load_protocols
from tests.conftest import ADDRESSES
from tests.pages_helpers import SECRET, ErrorPattern, csrf_of, follow_the_clock
from tests.test_pages_actions import sign_in
from tests.transfers import api_on

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
OFFERED = re.compile(r'name="pathway" type="radio" value="([a-z0-9-]+)"')


@asynccontextmanager
async def with_addresses(engine: Any, env: Any, worker: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process with the councils' address list, as the worker has it."""
    settings = Settings(temporal_task_queue=worker.task_queue, pages_session_secret=SECRET)
    app = create_app(AppState(settings=settings, engine=engine, temporal=env.client,
                              protocols=load_protocols(settings.protocols_dir),
                              addresses=ADDRESSES))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api",
                                     timeout=60) as client:
            yield client


async def form_of(api: httpx.AsyncClient, pathway: str) -> dict[str, str]:
    page = await api.get("/pages/transfers/new", params={"pathway": pathway})
    assert page.status_code == 200 and 'id="start-form"' in page.text, page.text
    found = KEY.search(page.text)
    assert found
    return {"csrf_token": csrf_of(page.text), "idempotency_key": found.group(1),
            "pathway": pathway}


async def filled(api: httpx.AsyncClient, ts_env: Any, case_id: str) -> dict[str, str]:
    anchor = (await ts_env.get_current_time() - timedelta(hours=1)).astimezone(
        ZoneInfo("Europe/London"))
    return {**await form_of(api, "sgcp-to-lac"), "case_id": case_id,
            "anchor-day": str(anchor.day), "anchor-month": str(anchor.month),
            "anchor-year": str(anchor.year), "anchor-time": f"{anchor:%H:%M}"}


async def test_the_pathways_offered_follow_the_role(ts_env, worker, directory_engine,
                                                    monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "gateshead", "gateshead-sgcp-tm")
        sgcp = set(OFFERED.findall((await api.get("/pages/transfers/new")).text))
        assert "sgcp-to-lac" in sgcp
        await sign_in(api, "gateshead", "gateshead-lac-tm")
        lac_page = (await api.get("/pages/transfers/new")).text
        assert "sgcp-to-lac" not in set(OFFERED.findall(lac_page))
        # Nor by its address: the form is not offered, and a post is refused.
        chosen = await api.get("/pages/transfers/new", params={"pathway": "sgcp-to-lac"})
        assert 'id="start-form"' not in chosen.text
        refused = await api.post("/pages/transfers/new", data={
            "csrf_token": csrf_of(lac_page), "idempotency_key": "page-x1",
            "pathway": "sgcp-to-lac", "case_id": "C600009"})
        assert refused.status_code == 403
        listed = await api.get("/transfers", headers={
            "Authorization": "Bearer demo-gateshead-sgcp-tm"})
        assert "C600009" not in listed.text


async def test_a_refused_start_reads_as_the_apis_and_starts_nothing(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "gateshead", "gateshead-sgcp-tm")
        sent = await filled(api, ts_env, "Jane Smith")
        answer = await api.post("/pages/transfers/new", data=sent)
        assert answer.status_code == 422
        shown = ErrorPattern(answer.text)
        shown.shows("case_id", "case_id-error", "must be a gateshead case id (a name is never "
                                                "one)")
        assert "Jane Smith" not in dict(shown.links)["#case_id"]
        assert 'id="start-form"' in answer.text
        # The value typed is kept in the form, to correct.
        assert 'id="case_id" name="case_id" type="text" spellcheck="false" autocomplete="off" ' \
               'aria-describedby="case_id-hint case_id-error" value="Jane Smith"' in answer.text
        listed = await api.get("/transfers", headers={
            "Authorization": "Bearer demo-gateshead-sgcp-tm"})
        assert listed.json()["count"] == 0


async def test_a_double_submission_starts_once_and_csrf_is_checked(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "gateshead", "gateshead-sgcp-tm")
        sent = await filled(api, ts_env, "C600001")
        forged = await api.post("/pages/transfers/new", data={**sent, "csrf_token": ""})
        assert forged.status_code == 403
        first, second = await asyncio.gather(api.post("/pages/transfers/new", data=sent),
                                             api.post("/pages/transfers/new", data=sent))
        tid = "transfer-gateshead-C600001"
        for answer in (first, second):
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"] == f"/pages/transfers/{tid}" \
                                                 "?done=start-transfer"
        page = (await api.get(first.headers["location"])).text
        assert "govuk-notification-banner--success" in page
        events = await api.get(f"/transfers/{tid}/events", headers={
            "Authorization": "Bearer demo-gateshead-sgcp-tm"})
        assert sum(e["kind"] == "started" for e in events.json()) == 1
        listed = await api.get("/transfers", headers={
            "Authorization": "Bearer demo-gateshead-sgcp-tm"})
        assert listed.json()["count"] == 1


async def test_an_organisation_named_at_the_start_is_chosen_from_the_address_list(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with with_addresses(directory_engine, ts_env, worker) as api:
        await sign_in(api, "gateshead", "gateshead-sgcp-tm")
        page = (await api.get("/pages/transfers/new",
                              params={"pathway": "sgcp-cp-temporary-move"})).text
        assert '<select class="govuk-select" id="external-other_authority"' in page
        assert '<option value="newcastle">newcastle</option>' in page
        anchor = (await ts_env.get_current_time() - timedelta(hours=1)).astimezone(
            ZoneInfo("Europe/London"))
        sent = {**await form_of(api, "sgcp-cp-temporary-move"), "case_id": "C600002",
                "anchor-day": str(anchor.day), "anchor-month": str(anchor.month),
                "anchor-year": str(anchor.year), "anchor-time": f"{anchor:%H:%M}"}
        unnamed = await api.post("/pages/transfers/new", data=sent)
        assert unnamed.status_code == 422
        assert "Name the organisation for the other local authority in &#39;externals&#39;" \
            in unnamed.text
        # Beside the list it is about.
        assert 'id="external-other_authority-error"' in unnamed.text
        named = await api.post("/pages/transfers/new",
                               data={**sent, "external-other_authority": "newcastle"})
        assert named.status_code == 303, named.text
        view = await api.get("/transfers/transfer-gateshead-C600002", headers={
            "Authorization": "Bearer demo-gateshead-sgcp-tm"})
        assert view.json()["externals"] == {"other_authority": "newcastle"}


async def test_a_key_date_the_pathway_needs_is_asked_for_and_sent(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "family_safeguarding", "family_safeguarding-cla-tm")
        page = (await api.get("/pages/transfers/new",
                              params={"pathway": "cla-to-sixteen-plus"})).text
        assert 'name="key-turns_15_and_half-day"' in page
        anchor = (await ts_env.get_current_time() - timedelta(hours=1)).astimezone(
            ZoneInfo("Europe/London"))
        day = anchor.date() + timedelta(days=60)
        sent = {**await form_of(api, "cla-to-sixteen-plus"), "case_id": "C600003",
                "anchor-day": str(anchor.day), "anchor-month": str(anchor.month),
                "anchor-year": str(anchor.year), "anchor-time": f"{anchor:%H:%M}",
                "key-turns_15_and_half-day": str(day.day),
                "key-turns_15_and_half-month": str(day.month),
                "key-turns_15_and_half-year": str(day.year)}
        started = await api.post("/pages/transfers/new", data=sent)
        assert started.status_code == 303, re.findall(r'id="refusal">([^<]*)', started.text)
        view = await api.get("/transfers/transfer-family_safeguarding-C600003", headers={
            "Authorization": "Bearer demo-family_safeguarding-cla-tm"})
        assert view.json()["key_dates"] == {"turns_15_and_half": day.isoformat()}
