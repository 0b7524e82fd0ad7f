"""Who decodes payloads for the dev server's Temporal UI, which has no sign-in: in
development only, its origin without a token stands for the development operator."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy
from fastapi import HTTPException
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError
from starlette.requests import Request

from api.routes.codec import codec_staff
from api.sign_in_throttle import SignInThrottle
from config import ROOT, Settings
from models.protocol_files import load_protocols
from ops.demo import seed_demo_directory
from tests.converter import TEST_PAYLOAD_KEYS

UI = "http://localhost:8233"


def request(origin: str | None) -> Request:
    headers = [(b"origin", origin.encode())] if origin else []
    return Request({"type": "http", "method": "POST", "path": "/codec/decode",
                    "headers": headers, "client": ("127.0.0.1", 5000)})


def state(engine: sqlalchemy.Engine, **settings: Any) -> Any:
    return SimpleNamespace(settings=Settings(**settings), engine=engine, oidc=None,
                           sign_ins=SignInThrottle(10, 60, 300))


@pytest.fixture
def directory(directory_engine: sqlalchemy.Engine) -> sqlalchemy.Engine:
    gateshead = load_protocols(ROOT / "protocols")["gateshead"]
    seed_demo_directory(directory_engine, {"gateshead": gateshead})
    return directory_engine


def test_the_ui_origin_decodes_as_the_development_operator(
        directory: sqlalchemy.Engine) -> None:
    dev = state(directory, codec_development_operator="gateshead-director")
    assert codec_staff(request(UI), dev, None).id == "gateshead-director"
    # Any other origin, or none, must sign in as usual.
    for origin in ("http://evil.example", None):
        with pytest.raises(HTTPException) as refused:
            codec_staff(request(origin), dev, None)
        assert refused.value.status_code == 401
    # A token, when sent, is who asks.
    token = HTTPAuthorizationCredentials(scheme="Bearer", credentials="demo-gateshead-sgcp-sw")
    assert codec_staff(request(UI), dev, token).id == "gateshead-sgcp-sw"


def test_without_the_setting_the_ui_origin_must_sign_in(directory: sqlalchemy.Engine) -> None:
    with pytest.raises(HTTPException) as refused:
        codec_staff(request(UI), state(directory), None)
    assert refused.value.status_code == 401


def test_production_refuses_a_development_operator() -> None:
    with pytest.raises(ValidationError, match="CODEC_DEVELOPMENT_OPERATOR is for development"):
        Settings(environment="production", database_url="postgresql://x@db/x",
                 temporal_insecure_ok=True, smtp_insecure_ok=True, payload_keys=TEST_PAYLOAD_KEYS,
                 codec_development_operator="gateshead-director")
