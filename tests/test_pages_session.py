"""The pages' session cookie: its secret, its flags, and the CSRF comparison."""

from __future__ import annotations

import stat
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.responses import Response

from config import Settings
from pages.session import (
    PageSession,
    Sessions,
    SessionSecretMissing,
    csrf_ok,
    new_session,
    session_secret,
)
from tests.test_docs import api as docs_api


def test_development_makes_one_secret_and_keeps_it(tmp_path) -> None:
    path = tmp_path / ".data" / "pages-session-key"
    settings = Settings(pages_session_key_file=path)
    first = session_secret(settings)
    assert len(first) >= 48 and session_secret(settings) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


PRODUCTION: dict[str, Any] = dict(
    environment="production", database_url="postgresql://x@db/x", temporal_insecure_ok=True,
    smtp_insecure_ok=True, payload_keys="k1:" + "A" * 43 + "=")
PAGES_CLIENT: dict[str, Any] = dict(
    pages_oidc_client_id="caseflow-pages", oidc_issuer="https://idp.example",
    oidc_audience="api://caseflow", pages_session_secret="s" * 48,
    pages_oidc_redirect_url="https://caseflow.example/pages/sign-in/callback")


def test_production_serves_the_pages_only_with_a_secret_and_the_sign_in_client() -> None:
    assert Settings(**PRODUCTION, **PAGES_CLIENT).pages_enabled
    for left_out, words in (("pages_session_secret", "production needs PAGES_SESSION_SECRET"),
                            ("pages_oidc_client_id", "set PAGES_OIDC_CLIENT_ID")):
        with pytest.raises(ValidationError, match=words):
            Settings(**PRODUCTION, **{k: v for k, v in PAGES_CLIENT.items() if k != left_out})
    with pytest.raises(ValidationError, match="PAGES_SESSION_SECRET must be at least 32"):
        Settings(**PRODUCTION, **{**PAGES_CLIENT, "pages_session_secret": "short"})
    # Neither is asked of a process that serves no pages (the worker, the migrations), nor
    # of development, whose chooser and kept secret stand in for them.
    assert not Settings(**PRODUCTION, pages_enabled=False).pages_enabled
    assert Settings().pages_enabled


def test_production_needs_a_configured_secret(tmp_path) -> None:
    # The settings refuse it first (above); a process that was told it serves no pages and
    # serves them all the same still signs nothing without it.
    production = dict(**PRODUCTION, pages_enabled=False,
                      pages_session_key_file=tmp_path / "never-made")
    with pytest.raises(SessionSecretMissing):
        session_secret(Settings(**production))
    assert not (tmp_path / "never-made").exists()
    sessions = Sessions(Settings(**production, pages_session_secret="s" * 48))
    response = Response()
    sessions.write(response, new_session("gateshead-lac-tm"))
    cookie = response.headers["set-cookie"].lower()
    assert all(flag in cookie for flag in ("httponly", "samesite=lax", "secure",
                                           "path=/pages"))


def test_csrf_needs_the_sessions_own_token() -> None:
    session = PageSession(csrf="token-1")
    assert csrf_ok(session, "token-1")
    assert not csrf_ok(session, "token-2")
    assert not csrf_ok(session, None) and not csrf_ok(None, "token-1")
    assert new_session().csrf != new_session().csrf


async def test_a_process_told_it_serves_no_pages_serves_none() -> None:
    for enabled, status in ((True, 200), (False, 404)):
        async with docs_api(Settings(pages_enabled=enabled)) as client:
            assert (await client.get("/pages/static/init.js")).status_code == status, enabled
            assert (await client.get("/openapi.json")).status_code == 200
