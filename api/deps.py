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

from api.store_queries import aware, token_holder
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


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.caseflow
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with Session(state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
bearer = HTTPBearer(auto_error=False, description="The staff member's API token")


def current_staff(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Staff:
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "Sign in: send 'Authorization: Bearer <your token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    # A short session of its own: holding a pooled connection for the whole request would
    # let as many concurrent actions as the pool holds starve each other.
    with Session(state.engine, expire_on_commit=False) as session:
        found = token_holder(session, credentials.credentials)
    if found is None:
        raise _unauthorised("That token is not recognised")
    token, staff = found
    signed_in(staff)  # a leaver's tokens are revoked too: say why they are refused
    if token.revoked_at is not None:
        raise _unauthorised("That token has been revoked; ask for a new one")
    if token.expires_at is not None and aware(token.expires_at) <= datetime.now(UTC):
        raise _unauthorised("That token has expired; ask for a new one")
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
