"""The managers' pages over HTTP: the dev sign-in, CSRF, the tray and a transfer, need to
know, read records and the Content-Security-Policy. (The browser tests: test_pages_browser.)"""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import timedelta

import httpx
from sqlmodel import Session, col, select

from config import Settings
from models.tables import ReadRecord, Staff
from pages.session import Sessions
from tests.pages_helpers import SECRET, TID, csrf_of, follow_the_clock, start_overdue
from tests.transfers import api_on


async def sign_in(api: httpx.AsyncClient, staff_id: str) -> httpx.Response:
    chooser = await api.get("/pages/sign-in", params={"authority": "gateshead"})
    assert chooser.status_code == 200
    return await api.post("/pages/sign-in", data={"csrf_token": csrf_of(chooser.text),
                                                  "staff_id": staff_id})


async def until_in_tray(api: httpx.AsyncClient, text: str) -> str:
    """The tray once the worker has stored the transfer as overdue (written by an activity)."""
    for _ in range(200):
        page = (await api.get("/pages/tray", params={"overdue": "yes"})).text
        if text in page:
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never reached the tray")


async def test_sign_in_tray_transfer_and_need_to_know(ts_env, worker, directory_engine,
                                                      monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        assert (await api.get("/pages/tray")).headers["location"] == "/pages/sign-in"
        chooser = await api.get("/pages/sign-in", params={"authority": "gateshead"})
        assert "gateshead-lac-tm" in chooser.text
        csp = chooser.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        cookie = chooser.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie

        # Without the form's token, or with another, nothing happens.
        refused = await api.post("/pages/sign-in", data={"staff_id": "gateshead-lac-tm"})
        assert refused.status_code == 403
        refused = await api.post("/pages/sign-in", data={"staff_id": "gateshead-lac-tm",
                                                         "csrf_token": "forged"})
        assert refused.status_code == 403
        # Only a demo member of staff, chosen: anything else asks again.
        again = await api.post("/pages/sign-in", data={"csrf_token": csrf_of(chooser.text),
                                                       "staff_id": "nobody"})
        assert again.headers["location"] == "/pages/sign-in?error=choose"
        asked = await api.get(again.headers["location"])
        assert "There is a problem" in asked.text and "<title>Error: " in asked.text
        signed = await sign_in(api, "gateshead-lac-tm")
        assert (signed.status_code, signed.headers["location"]) == (303, "/pages/tray")

        await start_overdue(api, ts_env)
        tray = await until_in_tray(api, "C100234")
        assert f'href="/pages/transfers/{TID}"' in tray and "overdue by" in tray
        page = await api.get(f"/pages/transfers/{TID}")
        assert page.status_code == 200
        assert "Transfer within 10 working days of the TM discussion" in page.text
        assert "missed" in page.text and 'id="trail"' in page.text

        # Sign-out needs the token too; after it, the pages ask to sign in again.
        assert (await api.post("/pages/sign-out")).status_code == 403
        out = await api.post("/pages/sign-out", data={"csrf_token": csrf_of(page.text)})
        assert out.headers["location"].startswith("/pages/sign-in")
        assert (await api.get("/pages/tray")).status_code == 303

        # Another team's manager: not in the tray, and no such transfer by its address.
        await sign_in(api, "gateshead-cwd-tm")
        assert "C100234" not in (await api.get("/pages/tray")).text
        hidden = await api.get(f"/pages/transfers/{TID}")
        assert hidden.status_code == 404 and "No such transfer in gateshead" in hidden.text
        assert (await api.get("/pages/transfers/" + "x" * 300)).status_code == 404
        assert (await api.get("/pages/tray", params={"page": "two"})).status_code == 200
        # The API keeps its own policy: nothing at all.
        api_csp = (await api.get("/transfers")).headers["content-security-policy"]
        assert api_csp.startswith("default-src 'none'; frame-ancestors")

    with Session(directory_engine) as db:
        reads = db.exec(select(ReadRecord).where(col(ReadRecord.staff_id).in_(
            ["gateshead-lac-tm", "gateshead-cwd-tm"]))).all()
    seen = {(r.staff_id, r.what, r.transfer_id, r.refused) for r in reads}
    assert ("gateshead-lac-tm", "tray", None, False) in seen
    assert ("gateshead-lac-tm", "transfer", TID, False) in seen
    assert ("gateshead-cwd-tm", "transfer", TID, True) in seen


async def test_a_deactivated_member_of_staff_is_refused_at_once(ts_env, worker,
                                                                directory_engine):
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "gateshead-lac-tm")
        assert (await api.get("/pages/tray")).status_code == 200
        with Session(directory_engine) as db:
            staff = db.get(Staff, "gateshead-lac-tm")
            assert staff is not None
            staff.active = False
            db.add(staff)
            db.commit()
        refused = await api.get("/pages/tray")
        assert refused.status_code == 403 and "deactivated" in refused.text


async def test_a_forged_or_altered_cookie_is_not_a_session(ts_env, worker, directory_engine):
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        other = Sessions(Settings(pages_session_secret="another-secret-" + "0" * 40))
        forged = other.serializer.dumps({"csrf": "x", "staff": "gateshead-hos-1"})
        api.cookies.set("caseflow_pages", forged, path="/pages")
        assert (await api.get("/pages/tray")).status_code == 303
        ours = Sessions(Settings(pages_session_secret=SECRET)).serializer
        genuine = ours.dumps({"csrf": "x", "staff": "gateshead-lac-tm"})
        api.cookies.set("caseflow_pages", genuine, path="/pages")
        assert (await api.get("/pages/tray")).status_code == 200
        # Another staff id with the genuine cookie's signature.
        payload = base64.urlsafe_b64encode(b'{"csrf":"x","staff":"gateshead-cwd-tm"}')
        altered = payload.decode().rstrip("=") + genuine[genuine.index("."):]
        api.cookies.set("caseflow_pages", altered, path="/pages")
        assert (await api.get("/pages/tray")).status_code == 303


async def test_production_offers_no_demo_chooser(ts_env, worker, directory_engine):
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET,
                      environment="production", database_url="postgresql://x@db/x",
                      temporal_insecure_ok=True, smtp_insecure_ok=True,
                      payload_keys="k1:" + "A" * 43 + "=",
                      pages_oidc_client_id="caseflow-pages", oidc_issuer="https://idp.example",
                      oidc_audience="api://caseflow",
                      pages_oidc_redirect_url="https://caseflow.example/pages/sign-in/callback"
                      ) as api:
        # The council's identity provider is the only way in.
        page = await api.get("/pages/sign-in")
        assert page.status_code == 303 and page.headers["location"] == "/pages/sign-in/idp"
        assert "gateshead-lac-tm" not in page.text
        posted = await api.post("/pages/sign-in", data={"staff_id": "gateshead-lac-tm"})
        assert posted.status_code == 403 and "set-cookie" not in posted.headers


async def test_the_tray_puts_overdue_first_filters_and_pages(ts_env, worker, directory_engine,
                                                              monkeypatch):
    follow_the_clock(monkeypatch)
    monkeypatch.setattr("pages.routes.PAGE_SIZE", 2)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        now = await ts_env.get_current_time()
        for case, days_ago in (("C200001", 1), ("C200002", 0)):
            started = await api.post(
                "/transfers", headers={"Authorization": "Bearer demo-gateshead-sgcp-tm"},
                json={"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": case,
                      "anchor_at": (now - timedelta(days=days_ago, hours=1)).isoformat()})
            assert started.status_code == 201, started.text
        await start_overdue(api, ts_env, "C200003")
        await sign_in(api, "gateshead-lac-tm")
        await until_in_tray(api, "C200003")

        first = (await api.get("/pages/tray")).text
        assert cases(first) == ["C200003", "C200001"] and "Page 1 of 2" in first
        second = (await api.get("/pages/tray", params={"page": 2})).text
        assert cases(second) == ["C200002"]
        on_time = (await api.get("/pages/tray", params={"overdue": "no"})).text
        assert cases(on_time) == ["C200001", "C200002"]
        assert cases((await api.get("/pages/tray", params={"stage": "ready"})).text) == []
        other = (await api.get("/pages/tray", params={"pathway": "lac-closure"})).text
        assert cases(other) == []
        same = (await api.get("/pages/tray", params={"pathway": "sgcp-to-lac", "page": 2})).text
        assert cases(same) == ["C200002"] and "pathway=sgcp-to-lac" in same


def cases(html: str) -> list[str]:
    return re.findall(r'href="/pages/transfers/transfer-gateshead-(C\d+)"', html)
