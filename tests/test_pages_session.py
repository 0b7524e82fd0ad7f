"""The pages' session cookie: its secret, its flags, and the CSRF comparison."""

from __future__ import annotations

import stat

import pytest
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


def test_development_makes_one_secret_and_keeps_it(tmp_path) -> None:
    path = tmp_path / ".data" / "pages-session-key"
    settings = Settings(pages_session_key_file=path)
    first = session_secret(settings)
    assert len(first) >= 48 and session_secret(settings) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_production_needs_a_configured_secret(tmp_path) -> None:
    production = dict(environment="production", database_url="postgresql://x@db/x",
                      temporal_insecure_ok=True, smtp_insecure_ok=True,
                      payload_keys="k1:" + "A" * 43 + "=",
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
