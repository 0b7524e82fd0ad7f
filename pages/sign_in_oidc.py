"""Signing in to the pages through the council's identity provider: OpenID Connect, the
authorization code with PKCE (S256), the same provider, subject claim and staff directory as
the API's access tokens (api/oidc, api/deps).

Authlib builds the authorization request and exchanges the code; the ID token is verified
with PyJWT by the API's own verifier (its keys, algorithms, issuer and leeway), for the
pages' client id as audience and with the nonce this browser was given. The state, nonce and
code verifier wait in a short-lived signed cookie of their own, scoped to the sign-in paths
and read once: a callback without it, or with another state, is refused before any code is
exchanged. Only staff ids are logged, never a code, token or claim.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session

from api.deps import AppState, get_state, signed_in
from api.oidc import OidcVerifier, ProviderUnavailable, SignInRefused, Verified
from api.store_queries import staff_by_subject
from pages.session import new_session, session_secret

log = logging.getLogger(__name__)

router = APIRouter(prefix="/pages/sign-in", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

FLOW_COOKIE = "caseflow_sign_in"
FLOW_PATH = "/pages/sign-in"
FLOW_SALT = "caseflow-pages-sign-in-flow"
# Long enough to type a password and answer a second factor; a stale flow is refused.
FLOW_SECONDS = 600
FETCH_TIMEOUT_SECONDS = 5.0
DISCOVERY_CACHE_SECONDS = 600.0


class Unavailable(Exception):
    pass


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    end_session: str | None


class ProviderClient:
    """The pages' client of the provider, one per app; the discovery document is fetched on
    first use and kept a while, so the app starts while the provider is down."""

    def __init__(self, state: AppState, verifier: OidcVerifier) -> None:
        s = state.settings
        self.issuer = s.oidc_issuer
        self.client_id = s.pages_oidc_client_id
        self.client_secret = s.pages_oidc_client_secret.get_secret_value()
        self.redirect_url = s.pages_oidc_redirect_url
        self.scope = s.pages_oidc_scopes
        self.verifier = verifier
        self.flows = URLSafeTimedSerializer(session_secret(s), salt=FLOW_SALT)
        self.secure = s.environment == "production"
        self._endpoints: tuple[float, Endpoints] | None = None

    def oauth(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id, client_secret=self.client_secret or None,
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            scope=self.scope, redirect_uri=self.redirect_url, code_challenge_method="S256",
            timeout=FETCH_TIMEOUT_SECONDS)

    async def endpoints(self) -> Endpoints:
        cached = self._endpoints
        if cached is not None and time.monotonic() - cached[0] < DISCOVERY_CACHE_SECONDS:
            return cached[1]
        where = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as http:
                answer = await http.get(where)
                answer.raise_for_status()
                document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("the identity provider's discovery document could not be read: %s",
                        type(exc).__name__)
            raise Unavailable from exc
        # As the API checks it: a document naming another issuer describes someone else.
        if not isinstance(document, dict) or document.get("issuer") != self.issuer or not all(
                isinstance(document.get(k), str)
                for k in ("authorization_endpoint", "token_endpoint")):
            raise Unavailable
        end = document.get("end_session_endpoint")
        found = Endpoints(document["authorization_endpoint"], document["token_endpoint"],
                          end if isinstance(end, str) else None)
        self._endpoints = (time.monotonic(), found)
        return found

    def read_flow(self, request: Request) -> dict[str, str] | None:
        raw = request.cookies.get(FLOW_COOKIE)
        if not raw:
            return None
        try:
            data = self.flows.loads(raw, max_age=FLOW_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not all(
                isinstance(data.get(k), str) for k in ("state", "nonce", "verifier")):
            return None
        return {k: data[k] for k in ("state", "nonce", "verifier")}

    def write_flow(self, response: Response, flow: dict[str, str]) -> None:
        response.set_cookie(FLOW_COOKIE, self.flows.dumps(flow), max_age=FLOW_SECONDS,
                            path=FLOW_PATH, httponly=True, samesite="lax", secure=self.secure)

    def clear_flow(self, response: Response) -> None:
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax",
                               secure=self.secure)


def provider_of(request: Request) -> ProviderClient | None:
    """The pages' provider client, or None when PAGES_OIDC_CLIENT_ID is not set."""
    state = get_state(request)
    if not state.settings.pages_oidc_client_id or state.oidc is None:
        return None
    found: ProviderClient | None = getattr(request.app.state, "pages_provider", None)
    if found is None:
        found = ProviderClient(state, state.oidc)
        request.app.state.pages_provider = found
    return found


def problem(request: Request, message: str, status: int, *, signed_out: bool = False,
            end_session: bool = False, retry: bool = True) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "sign_in_provider.html",
        {"staff": None, "csrf": "", "message": message, "signed_out": signed_out,
         "end_session": end_session, "retry": retry}, status_code=status)


def _unavailable(request: Request) -> HTMLResponse:
    return problem(request, "The council's identity provider cannot be reached just now. "
                   "Try again in a few minutes.", 503)


@router.get("/idp", response_model=None)
async def start(request: Request) -> Response:
    provider = provider_of(request)
    if provider is None:
        return problem(request, "Signing in through the council's identity provider is not "
                       "set up for this service.", 404, retry=False)
    try:
        endpoints = await provider.endpoints()
    except Unavailable:
        return _unavailable(request)
    flow = {"verifier": secrets.token_urlsafe(64), "nonce": secrets.token_urlsafe(32),
            "state": secrets.token_urlsafe(32)}
    async with provider.oauth() as oauth:
        url, _ = oauth.create_authorization_url(
            endpoints.authorization, state=flow["state"], code_verifier=flow["verifier"],
            nonce=flow["nonce"])
    response = RedirectResponse(url, status_code=303)
    provider.write_flow(response, flow)
    return response


async def _exchange(provider: ProviderClient, endpoints: Endpoints, code: str,
                    flow: dict[str, str]) -> Verified:
    async with provider.oauth() as oauth:
        token = await oauth.fetch_token(endpoints.token, grant_type="authorization_code",
                                        code=code, code_verifier=flow["verifier"])
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRefused("The identity provider did not say who signed in (no ID token)")
    claims = await run_in_threadpool(provider.verifier.claims, id_token,
                                     audience=provider.client_id, also_required=("nonce",))
    nonce = claims.get("nonce")
    # The nonce ties the ID token to this browser's request: one from another flow is not ours.
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(),
                                                             flow["nonce"].encode()):
        raise SignInRefused("That sign-in was meant for another request (nonce); start again")
    # OpenID Connect Core 3.1.3.7: a token for several audiences must name us as the party
    # it was issued to, or it is another client's token that happens to include us.
    audiences = claims.get("aud")
    if isinstance(audiences, list) and len(audiences) > 1 and \
            claims.get("azp") != provider.client_id:
        raise SignInRefused("That sign-in was issued to another party (azp); start again")
    subject = claims.get(provider.verifier.subject_claim)
    if not isinstance(subject, str) or not subject:
        raise SignInRefused("The identity provider did not name who signed in")
    return Verified(subject)


@router.get("/callback", response_model=None)
async def callback(request: Request, code: str = "", state: str = "", error: str = "",
                   iss: str | None = None) -> Response:
    provider = provider_of(request)
    if provider is None:
        return problem(request, "Signing in through the council's identity provider is not "
                       "set up for this service.", 404, retry=False)
    flow = provider.read_flow(request)
    if iss is not None and iss != provider.issuer:
        # RFC 9207: an answer naming another issuer is another provider's (a mix-up).
        response: Response = problem(request, "This sign-in came back from another identity "
                                     "provider. Start again.", 400)
    else:
        response = await _finish(request, provider, flow, code=code, state=state,
                                 error=error)
    provider.clear_flow(response)  # read once: a second callback for this flow is refused
    return response


async def _finish(request: Request, provider: ProviderClient, flow: dict[str, str] | None,
                  *, code: str, state: str, error: str) -> Response:
    if flow is None:
        return problem(request, "This sign-in was not started here, or took too long. "
                       "Start again.", 400)
    if not hmac.compare_digest(state.encode(), flow["state"].encode()):
        log.warning("pages sign-in: a callback's state did not match its flow")
        return problem(request, "This sign-in could not be checked (its state does not "
                       "match). Start again.", 400)
    if error or not code:
        return problem(request, "The identity provider did not sign you in. Start again, "
                       "or ask the service desk if this happens again.", 400)
    try:
        endpoints = await provider.endpoints()
        verified = await _exchange(provider, endpoints, code, flow)
    except (Unavailable, ProviderUnavailable):
        return _unavailable(request)
    except (AuthlibBaseError, httpx.HTTPStatusError, json.JSONDecodeError) as exc:
        log.warning("pages sign-in: the code was not exchanged (%s)", type(exc).__name__)
        return problem(request, "The identity provider did not accept this sign-in (it may "
                       "already have been used). Start again.", 400)
    except httpx.HTTPError:
        return _unavailable(request)
    except SignInRefused as exc:
        return problem(request, str(exc), 401)
    return _session_for(request, get_state(request), verified)


def _session_for(request: Request, state: AppState, verified: Verified) -> Response:
    with Session(state.engine, expire_on_commit=False) as db:
        staff = staff_by_subject(db, verified.subject)
    if staff is None:
        return problem(request, f"You signed in as {verified.shown}, but you are not in "
                       "this service's staff directory. Ask your manager or the service desk "
                       "to add your account.", 403)
    if staff.kind != "person":
        return problem(request, f"{staff.id} is a system account: it cannot sign in to "
                       "these pages.", 403)
    try:
        signed_in(staff)
    except HTTPException as exc:
        return problem(request, str(exc.detail), exc.status_code)
    log.info("pages sign-in through the identity provider: %s", staff.id)
    # Imported here: pages.routes includes this router, so a top-level import would loop.
    from pages.routes import sessions_of
    response = RedirectResponse("/pages/tray", status_code=303)
    sessions_of(request).write(response, new_session(staff.id))
    return response


@router.get("/idp-sign-out", response_model=None)
async def provider_sign_out(request: Request) -> Response:
    """After signing out of the pages: to the provider's end-session endpoint, if any."""
    # Back to "signed out", never to the sign-in itself: in production that would sign
    # the person straight back in through the provider.
    signed_out = RedirectResponse("/pages/sign-in?signed_out=1", status_code=303)
    provider = provider_of(request)
    if provider is None:
        return signed_out
    try:
        endpoints = await provider.endpoints()
    except Unavailable:
        return _unavailable(request)
    if endpoints.end_session is None:
        return signed_out
    query: dict[str, Any] = {"client_id": provider.client_id}
    joiner = "&" if "?" in endpoints.end_session else "?"
    return RedirectResponse(endpoints.end_session + joiner + urlencode(query), status_code=303)
