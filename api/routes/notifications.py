"""What was emailed to whom: the outbox, with its delivery state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from api import store_queries as q
from api.deps import SessionDep, StaffDep
from api.errors import EVERY_ROUTE, error_responses
from api.limits import ID_CHARS, NAME_CHARS
from api.need_to_know import covers_authority

router = APIRouter(prefix="/notifications", tags=["notifications"], responses=EVERY_ROUTE)
EVERYONE = "*"


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


@router.get("", response_model=list[NotificationOut], responses=error_responses(403))
def list_notifications(
    session: SessionDep, staff: StaffDep,
    recipient: Annotated[str | None, Query(
        max_length=NAME_CHARS, description="Whose mail: a staff id (or external:<party>), or "
                                           "`*` for everyone's; default: your own")] = None,
    transfer_id: Annotated[str | None, Query(max_length=ID_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """Emails about your authority's transfers and weekly meetings, newest first
    (`sent_at` empty: not yet delivered).

    By default, your own mail. Another person's (`recipient=<staff id>`) or everyone's
    (`recipient=*`) is for staff who serve the whole authority only (see the work tray):
    anyone else is refused with 403. Every read is recorded."""
    whose = staff.id if recipient is None else recipient
    refused = whose != staff.id and not covers_authority(staff.role, staff.team)
    q.record_read(session, staff=staff, what="notifications", transfer_id=None,
                  now=datetime.now(UTC), refused=refused, recipient=whose)
    if refused:
        asked = "everyone's mail" if whose == EVERYONE else "another person's mail"
        raise HTTPException(403, f"Only staff who serve the whole authority may read {asked}; "
                                 f"you are signed in as {staff.role} of {staff.team}, so you "
                                 "may read your own (leave out 'recipient')")
    rows = q.notifications(session, authority=staff.authority,
                           recipient=None if whose == EVERYONE else whose,
                           transfer_id=transfer_id, limit=limit)
    return [NotificationOut(
        key=r.key, transfer_id=r.transfer_id, recipient_id=r.recipient_id,
        recipient_role=r.recipient_role, recipient_team=r.recipient_team, email=r.email,
        subject=r.subject, body=r.body, created_at=q.aware(r.created_at),
        sent_at=q.aware(r.sent_at) if r.sent_at else None, attempts=r.attempts,
    ) for r in rows]
