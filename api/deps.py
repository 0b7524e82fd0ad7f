"""Dependencies: the case store session, the Temporal client, the protocols, the signed-in staff."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from api.oidc import OidcVerifier, ProviderUnavailable, SignInRefused, looks_like_jwt
from api.sign_in_throttle import SignInThrottle
from api.store_queries import aware, staff_by_subject, token_holder
from config import Settings
from models.external_addresses import ExternalAddresses
from models.protocol import Protocol, Role
from models.tables import Staff
from models.transfer import Actor


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    temporal: Client
    protocols: dict[str, Protocol]
    addresses: ExternalAddresses = field(default_factory=ExternalAddresses)
    oidc: OidcVerifier | None = field(init=False)
    sign_ins: SignInThrottle = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.oidc = OidcVerifier(s) if s.oidc_issuer else None
        self.sign_ins = SignInThrottle(s.sign_in_max_failures, s.sign_in_failure_window_seconds,
                                       s.sign_in_backoff_seconds)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.caseflow
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with Session(state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
bearer = HTTPBearer(auto_error=False, description="An access token from the council's "
                    "identity provider, or an API token")


def current_staff(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Staff:
    address = request.client.host if request.client else "unknown"
    wait = state.sign_ins.retry_after(address)
    if wait is not None:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"Too many failed sign-ins from this address; try again in {wait} "
                            "seconds", headers={"Retry-After": str(wait)})
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "Sign in: send 'Authorization: Bearer <your token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        staff = _identify(state, credentials.credentials)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            state.sign_ins.failed(address)
        raise
    return signed_in(staff)


def _identify(state: AppState, token: str) -> Staff:
    if looks_like_jwt(token):
        return _by_access_token(state, token)
    # A short session of its own: holding a pooled connection for the whole request would
    # let as many concurrent actions as the pool holds starve each other.
    with Session(state.engine, expire_on_commit=False) as session:
        found = token_holder(session, token)
    if found is None:
        raise _unauthorised("That token is not recognised")
    held, staff = found
    signed_in(staff)  # a leaver's tokens are revoked too: say why they are refused
    if held.revoked_at is not None:
        raise _unauthorised("That token has been revoked; ask for a new one")
    if held.expires_at is not None and aware(held.expires_at) <= datetime.now(UTC):
        raise _unauthorised("That token has expired; ask for a new one")
    return staff


def _by_access_token(state: AppState, token: str) -> Staff:
    """The staff member an identity provider's access token names (by its subject claim)."""
    if state.oidc is None:
        raise _unauthorised("This service does not accept sign-in tokens from an identity "
                            "provider (none is configured); use an API token")
    try:
        verified = state.oidc.verify(token)
    except SignInRefused as exc:
        raise _unauthorised(str(exc)) from exc
    except ProviderUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "The identity provider cannot be reached to check the sign-in; "
                            "try again shortly") from exc
    with Session(state.engine, expire_on_commit=False) as session:
        staff = staff_by_subject(session, verified.subject)
    if staff is None:
        raise _unauthorised(f"You signed in as {verified.shown} but are not in the staff "
                            "directory; ask for your account to be added")
    if staff.kind != "person":
        raise _unauthorised(f"{staff.id} is a system account: it signs in with its API token")
    return staff


def signed_in(staff: Staff) -> Staff:
    """The staff member, if they may still act: a leaver is refused at once."""
    if not staff.active:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"{staff.id} has been deactivated in the staff directory")
    return staff


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message,
                         headers={"WWW-Authenticate": "Bearer"})


StaffDep = Annotated[Staff, Depends(current_staff)]


def as_actor(staff: Staff) -> Actor:
    return Actor(staff_id=staff.id, role=Role(staff.role), team=staff.team)
