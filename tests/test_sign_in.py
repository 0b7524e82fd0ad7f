"""Sign-in with access tokens from a real OpenID provider (oidc-provider, run by node), beside
API tokens; forged tokens refused with a sentence; repeated failures slowed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import jwt
import pytest
import sqlalchemy
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import Session
from temporalio.client import Client

from api.deps import AppState, StaffDep
from api.main import create_app
from api.oidc import looks_like_jwt
from config import ROOT, Settings
from models.protocol_files import load_protocols
from models.tables import Staff
from ops import token as ops_token
from ops.local_idp import new_signing_key
from tests.identity_provider import (
    AUDIENCE,
    EC_AUDIENCE,
    OTHER_AUDIENCE,
    STRANGER,
    LocalProvider,
)
from tests.mail import free_port

PROTOCOLS = load_protocols(ROOT / "protocols")


class _NoTemporal:
    """Signing in and reading work trays never reach Temporal: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"sign-in used the Temporal client ({name})")


def make_api(engine: sqlalchemy.Engine, *, client: tuple[str, int] = ("127.0.0.1", 5000),
             **settings: Any) -> httpx.AsyncClient:
    state = AppState(settings=Settings(**settings), engine=engine,
                     temporal=cast(Client, _NoTemporal()), protocols=PROTOCOLS)
    app = create_app(state)
    app.state.caseflow = state

    @app.get("/whoami")
    def whoami(staff: StaffDep) -> dict[str, str]:
        return {"id": staff.id, "role": staff.role, "team": staff.team}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=client),
                             base_url="http://api")


@pytest.fixture
async def api(idp: LocalProvider, directory_engine: sqlalchemy.Engine
              ) -> AsyncIterator[httpx.AsyncClient]:
    async with make_api(directory_engine, oidc_issuer=idp.issuer, oidc_audience=AUDIENCE,
                        sign_in_max_failures=100) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(claims: dict[str, Any], jwk: dict[str, Any], **header: Any) -> str:
    return jwt.encode(claims, jwt.PyJWK(jwk), headers={"kid": jwk["kid"], **header})


def claims(idp: LocalProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": idp.issuer, "aud": AUDIENCE, "sub": "gateshead-sgcp-tm", "iat": now,
            "exp": now + 300, **changes}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(idp: LocalProvider) -> str:
    """The algorithm-confusion attack: HS256 'signed' with the provider's public key, as a
    verifier that trusted the header's alg would check it."""
    public = cast(rsa.RSAPrivateKey, jwt.PyJWK(idp.signing_key).key).public_key()
    secret = public.public_bytes(serialization.Encoding.PEM,
                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": idp.signing_key["kid"]}).encode())
    body = b64(json.dumps(claims(idp)).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


async def test_a_token_from_the_provider_signs_in(api: httpx.AsyncClient,
                                                  idp: LocalProvider) -> None:
    token = idp.token("gateshead-sgcp-tm")
    assert looks_like_jwt(token)
    me = await api.get("/whoami", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json() == {"id": "gateshead-sgcp-tm", "role": "team_manager", "team": "sgcp"}
    trays = await api.get("/transfers", headers=bearer(token))
    assert trays.status_code == 200, trays.text
    assert trays.json()["count"] == 0
    # API tokens still sign in beside it.
    assert (await api.get("/whoami", headers=bearer("demo-gateshead-lac-sw"))
            ).json()["id"] == "gateshead-lac-sw"


async def test_forged_and_misdirected_tokens_are_refused(api: httpx.AsyncClient,
                                                         idp: LocalProvider) -> None:
    key = idp.signing_key
    stranger_key = {**new_signing_key(), "kid": key["kid"]}
    real = idp.token("gateshead-sgcp-tm")
    head, body, sig = real.split(".")
    promoted = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    promoted["sub"] = "gateshead-director"
    now = int(time.time())
    cases = {
        "not signed": jwt.encode(claims(idp), "", algorithm="none"),
        "does not publish": signed(claims(idp), new_signing_key()),
        "signature does not verify": signed(claims(idp), stranger_key),
        "tampered": f"{head}.{b64(json.dumps(promoted).encode())}.{sig}",
        "has expired": signed(claims(idp, iat=now - 7200, exp=now - 3600), key),
        "not valid yet": signed(claims(idp, nbf=now + 3600), key),
        "another service": idp.token("gateshead-sgcp-tm", OTHER_AUDIENCE),
        "another identity provider": signed(claims(idp, iss="http://127.0.0.1:1"), key),
        "does not accept": hs256_with_public_key(idp),
        "no 'exp' claim": signed({k: v for k, v in claims(idp).items() if k != "exp"}, key),
        "malformed": "bm90.anNvbg.c2ln",
    }
    for words, token in cases.items():
        answer = await api.get("/whoami", headers=bearer(token))
        assert answer.status_code == 401, (words, answer.text)
        detail = answer.json()["detail"]
        expected = "signature does not verify" if words == "tampered" else words
        assert expected in detail, (words, detail)
        assert answer.headers["www-authenticate"] == "Bearer"
    # The same key and claims, within the allowed clock skew, do sign in: the refusals
    # above are for what was changed, not for being made here.
    almost = signed(claims(idp, iat=now - 600, exp=now - 10), key)
    assert (await api.get("/whoami", headers=bearer(almost))).status_code == 200


async def test_the_directory_decides_who_signs_in(api: httpx.AsyncClient, idp: LocalProvider,
                                                   directory_engine: sqlalchemy.Engine) -> None:
    stranger = await api.get("/transfers", headers=bearer(idp.token(STRANGER)))
    assert stranger.status_code == 401
    assert stranger.json()["detail"] == (
        f"You signed in as {STRANGER} but are not in the staff directory; ask for your "
        "account to be added")
    with Session(directory_engine) as session:
        leaver = session.get(Staff, "gateshead-sgcp-sw")
        assert leaver is not None
        leaver.active = False
        session.add(leaver)
        session.commit()
    gone = await api.get("/transfers", headers=bearer(idp.token("gateshead-sgcp-sw")))
    assert gone.status_code == 403
    assert "deactivated" in gone.json()["detail"]
    # A system signs in with its API token only, whatever subject its row holds.
    with Session(directory_engine) as session:
        system = session.get(Staff, "gateshead-bs")
        assert system is not None
        system.kind = "service"
        session.add(system)
        session.commit()
    machine = await api.get("/transfers", headers=bearer(idp.token("gateshead-bs")))
    assert machine.status_code == 401
    assert machine.json()["detail"] == ("gateshead-bs is a system account: it signs in with "
                                        "its API token")
    assert (await api.get("/whoami", headers=bearer("demo-gateshead-bs"))).status_code == 200


async def test_the_subject_claim_is_a_setting(idp: LocalProvider,
                                              directory_engine: sqlalchemy.Engine) -> None:
    async with make_api(directory_engine, oidc_issuer=idp.issuer, oidc_audience=AUDIENCE,
                        oidc_subject_claim="oid") as api:
        # The provider's tokens carry no `oid`: refused, saying so.
        plain = await api.get("/whoami", headers=bearer(idp.token("gateshead-sgcp-tm")))
        assert plain.status_code == 401 and "no 'oid' claim" in plain.json()["detail"]
        entra_like = signed(claims(idp, sub="pairwise-x", oid="gateshead-lac-tm"),
                            idp.signing_key)
        assert (await api.get("/whoami", headers=bearer(entra_like))
                ).json()["id"] == "gateshead-lac-tm"


async def test_the_accepted_algorithms_are_a_setting(idp: LocalProvider,
                                                     directory_engine: sqlalchemy.Engine) -> None:
    token = idp.token("gateshead-sgcp-tm", EC_AUDIENCE)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    async with make_api(directory_engine, oidc_issuer=idp.issuer,
                        oidc_audience=EC_AUDIENCE) as api:
        assert (await api.get("/whoami", headers=bearer(token))
                ).json()["id"] == "gateshead-sgcp-tm"
    async with make_api(directory_engine, oidc_issuer=idp.issuer, oidc_audience=EC_AUDIENCE,
                        oidc_algorithms=["RS256"]) as api:
        refused = await api.get("/whoami", headers=bearer(token))
        assert refused.status_code == 401
        assert "does not accept (it accepts RS256)" in refused.json()["detail"]


async def test_without_a_configured_provider_tokens_are_refused_clearly(
        idp: LocalProvider, directory_engine: sqlalchemy.Engine) -> None:
    async with make_api(directory_engine) as api:
        answer = await api.get("/transfers", headers=bearer(idp.token("gateshead-sgcp-tm")))
        assert answer.status_code == 401
        assert "does not accept sign-in tokens from an identity provider" in \
            answer.json()["detail"]


async def test_an_unreachable_provider_is_try_again(idp: LocalProvider,
                                                    directory_engine: sqlalchemy.Engine) -> None:
    token = idp.token("gateshead-sgcp-tm")
    async with make_api(directory_engine, oidc_issuer=f"http://127.0.0.1:{free_port()}",
                        oidc_audience=AUDIENCE, sign_in_max_failures=2) as api:
        for _ in range(3):  # not counted as failed sign-ins: nobody was refused
            answer = await api.get("/transfers", headers=bearer(token))
            assert answer.status_code == 503
            assert "identity provider cannot be reached" in answer.json()["detail"]
    # An issuer with no discovery document: asked once, not once a request.
    wrong = f"{idp.issuer}/elsewhere"
    async with make_api(directory_engine, oidc_issuer=wrong, oidc_audience=AUDIENCE) as api:
        for _ in range(3):
            assert (await api.get("/transfers", headers=bearer(token))).status_code == 503
    asked = [line for line in idp.log.read_text().splitlines()
             if line.startswith("GET /elsewhere/.well-known/openid-configuration")]
    assert len(asked) == 1, asked


async def test_unknown_key_ids_do_not_make_us_refetch(idp: LocalProvider,
                                                      directory_engine: sqlalchemy.Engine
                                                      ) -> None:
    async with make_api(directory_engine, oidc_issuer=idp.issuer, oidc_audience=AUDIENCE,
                        oidc_jwks_cooldown_seconds=600, sign_in_max_failures=100) as api:
        before = idp.jwks_fetches()
        assert (await api.get("/whoami", headers=bearer(idp.token("gateshead-sgcp-tm")))
                ).status_code == 200
        assert idp.jwks_fetches() == before + 1
        for _ in range(5):
            forged = signed(claims(idp), new_signing_key())
            answer = await api.get("/whoami", headers=bearer(forged))
            assert answer.status_code == 401 and "does not publish" in answer.json()["detail"]
        assert idp.jwks_fetches() == before + 1


async def test_a_rotated_key_is_fetched_once(tmp_path: Path,
                                             directory_engine: sqlalchemy.Engine) -> None:
    cooldown = 3.0  # long enough for the steps after the refresh on a busy machine
    provider = LocalProvider(tmp_path, ["gateshead-sgcp-tm"], {AUDIENCE: "RS256"})
    provider.start()
    try:
        async with make_api(directory_engine, oidc_issuer=provider.issuer,
                            oidc_audience=AUDIENCE, oidc_jwks_cooldown_seconds=cooldown) as api:
            old = provider.token("gateshead-sgcp-tm")
            assert (await api.get("/whoami", headers=bearer(old))).status_code == 200
            fetched_at = time.monotonic()
            assert provider.jwks_fetches() == 1
            provider.rotate()
            new = provider.token("gateshead-sgcp-tm")
            assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
            time.sleep(max(0.0, fetched_at + cooldown + 0.2 - time.monotonic()))
            assert (await api.get("/whoami", headers=bearer(new))).status_code == 200
            assert provider.jwks_fetches() == 2
            for token in (new, old):  # both keys are now held: no more fetching
                assert (await api.get("/whoami", headers=bearer(token))).status_code == 200
            forged = signed(claims(provider), new_signing_key())
            assert (await api.get("/whoami", headers=bearer(forged))).status_code == 401
            assert provider.jwks_fetches() == 2  # within the cooldown of the refresh
    finally:
        provider.stop()


async def test_repeated_failures_are_slowed(idp: LocalProvider,
                                            directory_engine: sqlalchemy.Engine) -> None:
    limits: dict[str, Any] = {
        "oidc_issuer": idp.issuer, "oidc_audience": AUDIENCE, "sign_in_max_failures": 3,
        "sign_in_failure_window_seconds": 60, "sign_in_backoff_seconds": 120}
    good = bearer(idp.token("gateshead-sgcp-tm"))
    async with make_api(directory_engine, **limits) as api:
        for _ in range(5):  # no token at all is not a failed guess
            assert (await api.get("/transfers")).status_code == 401
        for bad in ("demo-nobody", signed(claims(idp), new_signing_key()), "demo-guess"):
            assert (await api.get("/transfers", headers=bearer(bad))).status_code == 401
        slowed = await api.get("/transfers", headers=good)  # good tokens too, for a while
        assert slowed.status_code == 429
        assert 115 <= int(slowed.headers["retry-after"]) <= 120
        assert "Too many failed sign-ins" in slowed.json()["detail"]
        assert "try again in" in slowed.json()["detail"]
    # Another address is not held back by this one's failures.
    async with make_api(directory_engine, client=("127.0.0.2", 5000), **limits) as other:
        assert (await other.get("/transfers", headers=good)).status_code == 200


@pytest.mark.parametrize(("settings", "words"), [
    ({"oidc_algorithms": "RS256,HS256"}, "not HS256"),
    ({"oidc_algorithms": ["none"]}, "not none"),
    ({"oidc_issuer": "https://idp.example"}, "without OIDC_AUDIENCE"),
    ({"oidc_issuer": "file:///etc", "oidc_audience": "a"}, "must be an https://"),
    ({"environment": "production", "database_url": "postgresql://db/caseflow",
      "oidc_issuer": "http://idp.example", "oidc_audience": "a"}, "OIDC_ISSUER to be an https"),
])
def test_sign_in_settings_refuse_what_would_be_unsafe(settings: dict[str, Any],
                                                      words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Settings(**settings)


async def test_ops_token_prints_a_token_that_signs_in(
        idp: LocalProvider, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m ops.token <id>`, as `make dev`'s tour uses it (here on the tests' provider:
    its first audience is the one the API expects)."""
    monkeypatch.setattr(ops_token, "DEV_CONFIG", idp.config_path)
    assert ops_token.main(["gateshead-lac-tm"]) == 0
    printed = capsys.readouterr().out.strip()
    assert (await api.get("/whoami", headers=bearer(printed))).json()["id"] == "gateshead-lac-tm"
    assert ops_token.main(["gateshead-nobody"]) == 1
    assert "is not a demo staff member" in capsys.readouterr().err
