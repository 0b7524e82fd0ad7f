"""What was emailed to whom: the outbox, with its delivery state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api import store_queries as q
from api.deps import SessionDep, StaffDep
from api.errors import EVERY_ROUTE
from api.limits import ID_CHARS, NAME_CHARS

router = APIRouter(prefix="/notifications", tags=["notifications"], responses=EVERY_ROUTE)


class NotificationOut(BaseModel):
    key: str
    transfer_id: str
    recipient_id: str
    recipient_role: str
    recipient_team: str
    email: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int


@router.get("", response_model=list[NotificationOut])
def list_notifications(
    session: SessionDep, staff: StaffDep,
    recipient: Annotated[str | None, Query(max_length=NAME_CHARS,
                                           description="A staff id; default: everyone")] = None,
    transfer_id: Annotated[str | None, Query(max_length=ID_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """Emails about your authority's transfers and weekly meetings, newest first
    (`sent_at` empty: not yet delivered)."""
    rows = q.notifications(session, authority=staff.authority, recipient=recipient,
                           transfer_id=transfer_id, limit=limit)
    return [NotificationOut(
        key=r.key, transfer_id=r.transfer_id, recipient_id=r.recipient_id,
        recipient_role=r.recipient_role, recipient_team=r.recipient_team, email=r.email,
        subject=r.subject, body=r.body, created_at=q.aware(r.created_at),
        sent_at=q.aware(r.sent_at) if r.sent_at else None, attempts=r.attempts,
    ) for r in rows]
