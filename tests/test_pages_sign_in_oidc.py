"""Signing in to the pages through the local OpenID provider (oidc-provider): authorization
code with PKCE, in Debian's chromium (Playwright) through the provider's development login
form, against the app served by uvicorn on the port the provider's pages client redirects
to. A tampered state, a replayed code, a stale or missing flow, an unknown subject and a
leaver are each refused with a readable page. In process, with the token endpoint's answer
replaced by ID tokens signed with the provider's own key (so that only the claim under test
is wrong): each wrong claim is refused before anyone is signed in.
"""

from __future__ import annotations

import html
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import sqlalchemy
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlmodel import Session
from temporalio.client import Client

from api.deps import AppState
from api.main import create_app
from config import ROOT, Settings
from models.protocol_files import load_protocols
from models.tables import Staff
from ops.demo import demo_staff
from ops.local_idp import new_signing_key
from pages.sign_in_oidc import FLOW_COOKIE
from tests.browser import (
    chromium,
    needs_chromium,
    new_context,
    new_page,
    no_serious_violations,
    through_login_form,
)
from tests.identity_provider import AUDIENCE, STRANGER, LocalProvider
from tests.mail import free_port
from tests.pages_helpers import SECRET
from tests.serving import serving

CLIENT = "caseflow-pages-test"
PROTOCOLS = load_protocols(ROOT / "protocols")


class _NoTemporal:
    """Signing in and an empty tray never reach Temporal: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"sign-in used the Temporal client ({name})")


@pytest.fixture(scope="module")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def pages_idp(tmp_path_factory: pytest.TempPathFactory, app_port: int
              ) -> Iterator[LocalProvider]:
    """A provider whose pages client redirects to this module's app port."""
    subjects = [p.id for protocol in PROTOCOLS.values() for p in demo_staff(protocol)]
    provider = LocalProvider(
        tmp_path_factory.mktemp("pages-idp"), [*subjects, STRANGER], {AUDIENCE: "RS256"},
        pages_clients={CLIENT: [f"http://127.0.0.1:{app_port}/pages/sign-in/callback"]})
    provider.start()
    yield provider
    provider.stop()


def settings_for(idp: LocalProvider, port: int, **more: Any) -> Settings:
    return Settings(oidc_issuer=idp.issuer, oidc_audience=AUDIENCE, pages_session_secret=SECRET,
                    pages_oidc_client_id=CLIENT,
                    pages_oidc_redirect_url=f"http://127.0.0.1:{port}/pages/sign-in/callback",
                    **more)


@asynccontextmanager
async def served(engine: sqlalchemy.Engine, settings: Settings, port: int
                 ) -> AsyncIterator[str]:
    state = AppState(settings=settings, engine=engine, temporal=cast(Client, _NoTemporal()),
                     protocols=PROTOCOLS)
    app = create_app(state)
    app.state.caseflow = state  # the lifespan, which would set it, reaches Temporal
    async with serving(app, port, lifespan="off") as base:
        yield base


@needs_chromium
async def test_a_manager_signs_in_through_the_provider_in_a_browser(
        pages_idp, app_port, directory_engine):
    settings = settings_for(pages_idp, app_port)
    async with served(directory_engine, settings, app_port) as base, chromium() as browser:
        context = await new_context(browser, base)
        page = await context.new_page()
        callbacks: list[str] = []
        page.on("request", lambda r: callbacks.append(r.url)
                if "/pages/sign-in/callback" in r.url else None)

        # Development offers both ways in: the chooser and the provider.
        await page.goto(f"{base}/pages/sign-in")
        assert await page.get_by_role("button", name="Sign in with your council "
                                      "account").count() == 1
        await no_serious_violations(page)
        flow = await through_login_form(page, base, "gateshead-lac-tm")
        assert page.url == f"{base}/pages/tray"
        signed_in_as = await page.locator(".app-signed-in").inner_text()
        assert signed_in_as.endswith("(gateshead-lac-tm)")
        # The flow's cookie was read once and cleared.
        assert not [c for c in await context.cookies(f"{base}/pages/sign-in/callback")
                    if c["name"] == FLOW_COOKIE]

        # The authorization request carried PKCE S256, state and nonce; the callback the
        # state alone with the code.
        [callback] = callbacks
        sent = parse_qs(urlsplit(callback).query)
        assert set(sent) >= {"code", "state"}

        # The same code again, even with this flow's cookie: the provider refuses it.
        async with httpx.AsyncClient(base_url=base, cookies={FLOW_COOKIE: flow}) as http:
            replay = await http.get(callback)
        assert replay.status_code == 400
        assert "already have been used" in replay.text
        assert "caseflow_pages" not in replay.headers.get("set-cookie", "")

        # A stranger to the directory: a readable page, not signed in.
        stranger = await new_context(browser, base)
        other = await stranger.new_page()
        await through_login_form(other, base, STRANGER)
        assert "not in this service's staff directory" in await other.content()
        await no_serious_violations(other)
        assert not [c for c in await stranger.cookies(base)
                    if c["name"] == "caseflow_pages" and c["value"]]


async def test_the_authorization_request_and_a_tampered_state(pages_idp, app_port,
                                                              directory_engine):
    settings = settings_for(pages_idp, app_port)
    async with served(directory_engine, settings, app_port) as base, \
            httpx.AsyncClient(base_url=base) as http:
        started = await http.get("/pages/sign-in/idp")
        assert started.status_code == 303
        asked = parse_qs(urlsplit(started.headers["location"]).query)
        assert asked["response_type"] == ["code"] and asked["client_id"] == [CLIENT]
        assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0]
        assert asked["state"][0] and asked["nonce"][0] and "openid" in asked["scope"][0]
        assert started.headers["location"].startswith(pages_idp.issuer)
        cookie = started.headers["set-cookie"].lower()
        assert "httponly" in cookie and "path=/pages/sign-in" in cookie
        # The verifier stays here: the request carries only its S256 challenge.
        assert "code_verifier" not in asked

        mixed_up = await http.get("/pages/sign-in/callback", params={
            "code": "anything", "state": asked["state"][0], "iss": "http://127.0.0.1:1"})
        assert mixed_up.status_code == 400 and "another identity provider" in mixed_up.text
        started = await http.get("/pages/sign-in/idp")
        asked = parse_qs(urlsplit(started.headers["location"]).query)
        tampered = await http.get("/pages/sign-in/callback",
                                  params={"code": "anything", "state": "not-the-state"})
        assert tampered.status_code == 400 and "state does not match" in tampered.text
        # The flow is read once: its own state now finds no flow either.
        again = await http.get("/pages/sign-in/callback",
                               params={"code": "anything", "state": asked["state"][0]})
        assert again.status_code == 400 and "not started here" in again.text


async def test_a_callback_without_its_flow_or_a_forged_flow(pages_idp, app_port,
                                                            directory_engine):
    settings = settings_for(pages_idp, app_port)
    async with served(directory_engine, settings, app_port) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            bare = await http.get("/pages/sign-in/callback", params={"code": "c", "state": "s"})
            assert bare.status_code == 400 and "not started here" in bare.text
        async with httpx.AsyncClient(base_url=base, cookies={
                FLOW_COOKIE: "eyJzdGF0ZSI6InMifQ.forged.sig"}) as http:
            forged = await http.get("/pages/sign-in/callback",
                                    params={"code": "c", "state": "s"})
            assert forged.status_code == 400 and "not started here" in forged.text
            refused = await http.get("/pages/sign-in/callback",
                                     params={"error": "access_denied", "state": "s"})
            assert refused.status_code == 400


@needs_chromium
async def test_a_leaver_is_refused_after_the_provider_signs_them_in(pages_idp, app_port,
                                                                    directory_engine):
    with Session(directory_engine) as db:
        leaver = db.get(Staff, "gateshead-cwd-tm")
        assert leaver is not None
        leaver.active = False
        db.add(leaver)
        db.commit()
    settings = settings_for(pages_idp, app_port)
    async with served(directory_engine, settings, app_port) as base, chromium() as browser:
        page = await new_page(browser, base)
        await through_login_form(page, base, "gateshead-cwd-tm")
        assert "deactivated" in await page.content()
        assert "/pages/sign-in/callback" in page.url


async def test_production_offers_only_the_provider(pages_idp, app_port, directory_engine):
    # Copied, not validated: production would rightly want the provider at an https address.
    settings = settings_for(pages_idp, app_port).model_copy(
        update={"environment": "production"})
    async with served(directory_engine, settings, app_port) as base, \
            httpx.AsyncClient(base_url=base) as http:
        chooser = await http.get("/pages/sign-in")
        assert chooser.headers["location"] == "/pages/sign-in/idp"
        refused = await http.post("/pages/sign-in", data={"staff_id": "gateshead-lac-tm"})
        assert refused.status_code == 403
        out = await http.get("/pages/sign-in", params={"signed_out": "1"})
        assert out.status_code == 200 and "You have signed out" in out.text
        end = await http.get("/pages/sign-in/idp-sign-out")
        assert end.status_code == 303
        assert end.headers["location"].startswith(pages_idp.issuer)


# ----- The ID token's checks, in process ----------------------------------------------

def id_token(key: dict[str, Any], **claims: Any) -> str:
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, jwt.PyJWK(key),
                      headers={"kid": key["kid"]})


async def callback_with(monkeypatch: pytest.MonkeyPatch, http: httpx.AsyncClient,
                        answer: Any) -> httpx.Response:
    """Start a flow, then call back with its state, the token endpoint answering `answer`
    (a function of the flow's nonce)."""
    started = await http.get("/pages/sign-in/idp")
    asked = parse_qs(urlsplit(started.headers["location"]).query)
    seen: dict[str, Any] = {}

    async def fetch_token(self: AsyncOAuth2Client, url: str, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        return {"access_token": "opaque", "token_type": "Bearer",
                "id_token": answer(asked["nonce"][0])}

    monkeypatch.setattr(AsyncOAuth2Client, "fetch_token", fetch_token)
    found = await http.get("/pages/sign-in/callback",
                           params={"code": "a-code", "state": asked["state"][0]})
    # The code went with this flow's verifier, whose S256 challenge the request carried.
    assert seen["code"] == "a-code" and len(seen["code_verifier"]) >= 43
    return found


@pytest.mark.parametrize(("change", "words"), [
    ({"nonce": "another-flows-nonce"}, "another request (nonce)"),
    ({"nonce": None}, "no 'nonce' claim"),
    ({"aud": "api://caseflow-test"}, "issued for another service"),
    ({"iss": "http://127.0.0.1:1"}, "another identity provider"),
    ({"exp": -3600}, "has expired"),
    ({"sub": None}, "no 'sub' claim"),
    ({"aud": [CLIENT, "another-client"], "azp": "another-client"}, "another party (azp)"),
])
async def test_an_id_token_with_a_wrong_claim_is_refused(pages_idp, app_port, directory_engine,
                                                         monkeypatch, change, words):
    key = pages_idp.signing_key

    def answer(nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": pages_idp.issuer, "aud": CLIENT,
                                  "sub": "gateshead-lac-tm", "iat": now, "exp": now + 300,
                                  "nonce": nonce}
        claims.update(change)
        if isinstance(claims.get("exp"), int) and claims["exp"] < 0:
            claims["exp"] = now + claims["exp"]
        return id_token(key, **claims)

    async with served(directory_engine, settings_for(pages_idp, app_port), app_port) as base, \
            httpx.AsyncClient(base_url=base) as http:
        refused = await callback_with(monkeypatch, http, answer)
    assert refused.status_code == 401, refused.text
    assert words in html.unescape(refused.text)
    assert "caseflow_pages=" not in refused.headers.get("set-cookie", "")


async def test_an_id_token_signed_by_another_key_and_a_good_one(pages_idp, app_port,
                                                                directory_engine, monkeypatch):
    def good(key: dict[str, Any]) -> Any:
        def answer(nonce: str) -> str:
            now = int(time.time())
            return id_token(key, iss=pages_idp.issuer, aud=CLIENT, sub="gateshead-lac-tm",
                            iat=now, exp=now + 300, nonce=nonce)
        return answer

    async with served(directory_engine, settings_for(pages_idp, app_port), app_port) as base, \
            httpx.AsyncClient(base_url=base) as http:
        stranger = await callback_with(monkeypatch, http, good(new_signing_key()))
        assert stranger.status_code == 401
        assert "signing key (kid) the identity provider does not publish" in stranger.text
        signed = await callback_with(monkeypatch, http, good(pages_idp.signing_key))
        assert (signed.status_code, signed.headers["location"]) == (303, "/pages/tray")
        tray = await http.get("/pages/tray")
        assert "(gateshead-lac-tm)" in tray.text


async def test_the_provider_says_no(pages_idp, app_port, directory_engine):
    async with served(directory_engine, settings_for(pages_idp, app_port), app_port) as base, \
            httpx.AsyncClient(base_url=base) as http:
        started = await http.get("/pages/sign-in/idp")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        refused = await http.get("/pages/sign-in/callback",
                                 params={"error": "access_denied", "state": state})
        assert refused.status_code == 400 and "did not sign you in" in refused.text


def test_the_pages_client_settings_go_together():
    with pytest.raises(ValueError, match="PAGES_OIDC_CLIENT_ID needs OIDC_ISSUER"):
        Settings(pages_oidc_client_id=CLIENT)
    with pytest.raises(ValueError, match="needs PAGES_SESSION_SECRET"):
        Settings(environment="production", pages_oidc_client_id=CLIENT,
                 oidc_issuer="https://idp.example", oidc_audience="api://x",
                 pages_oidc_redirect_url="https://caseflow.example/pages/sign-in/callback")
    with pytest.raises(ValueError, match="PAGES_OIDC_REDIRECT_URL to be an https"):
        Settings(environment="production", pages_oidc_client_id=CLIENT,
                 oidc_issuer="https://idp.example", oidc_audience="api://x",
                 pages_oidc_redirect_url="http://caseflow.example/pages/sign-in/callback")
