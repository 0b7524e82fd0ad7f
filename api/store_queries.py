"""The case store's read side (and manager notes) for the HTTP API.

Times are stored in UTC. SQLite hands them back without an offset: pass them
through `aware()` before showing or comparing them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.tables import ActionNote, Notification, Staff, Transfer, TransferEvent


def aware(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite returns naive UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def latest_transfer(session: Session, transfer_id: str) -> Transfer | None:
    """The current row of the most recent run of a transfer."""
    return session.exec(
        select(Transfer)
        .where(Transfer.transfer_id == transfer_id)
        .order_by(col(Transfer.started_at).desc(), col(Transfer.run_id).desc())
        .limit(1)
    ).first()


def _overdue(now: datetime) -> ColumnElement[bool]:
    late = col(Transfer.next_deadline_at) < aware(now)
    return or_(col(Transfer.overdue).is_(True), late)


def list_transfers(
    session: Session,
    *,
    authority: str | None,
    team: str | None,
    stage: str | None,
    overdue: bool | None,
    now: datetime,
    limit: int,
    offset: int,
) -> tuple[list[Transfer], int]:
    """One page of current rows matching the filters, soonest deadline first, and the total."""
    where: list[ColumnElement[bool]] = []
    if authority is not None:
        where.append(col(Transfer.authority) == authority)
    if team is not None:
        where.append(
            or_(
                col(Transfer.from_team) == team,
                col(Transfer.to_team) == team,
                col(Transfer.responsible_team) == team,
            )
        )
    if stage is not None:
        where.append(col(Transfer.stage) == stage)
    if overdue is True:
        where.append(_overdue(now))
    elif overdue is False:
        # NULL next_deadline_at must count as "not late", not as unknown.
        where.append(
            col(Transfer.overdue).is_(False)
            & or_(
                col(Transfer.next_deadline_at).is_(None),
                col(Transfer.next_deadline_at) >= aware(now),
            )
        )
    total = session.exec(select(func.count()).select_from(Transfer).where(*where)).one()
    rows = session.exec(
        select(Transfer)
        .where(*where)
        .order_by(col(Transfer.next_deadline_at).asc().nulls_last(), col(Transfer.transfer_id))
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def transfer_events(session: Session, run_id: str) -> list[TransferEvent]:
    """A run's audit trail, oldest first."""
    return list(
        session.exec(
            select(TransferEvent)
            .where(TransferEvent.run_id == run_id)
            .order_by(col(TransferEvent.seq))
        ).all()
    )


def notifications(
    session: Session, *, recipient: str | None, transfer_id: str | None, limit: int
) -> list[Notification]:
    """Outbox rows, newest first."""
    query = select(Notification)
    if recipient is not None:
        query = query.where(Notification.recipient_id == recipient)
    if transfer_id is not None:
        query = query.where(Notification.transfer_id == transfer_id)
    query = query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    return list(session.exec(query.limit(limit)).all())


def staff_by_token(session: Session, token: str) -> Staff | None:
    """The staff member a bearer token belongs to (only its SHA-256 is stored)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return session.exec(select(Staff).where(Staff.token_sha256 == digest)).first()


def save_note(
    session: Session, *, ref: str, transfer_id: str, staff_id: str, text: str, now: datetime
) -> None:
    """Keep (and commit) a note under its ref; saving the same ref again changes nothing."""
    if session.get(ActionNote, ref) is None:
        session.add(
            ActionNote(
                ref=ref,
                transfer_id=transfer_id,
                staff_id=staff_id,
                text=text,
                created_at=aware(now),
            )
        )
        try:
            session.commit()
        except IntegrityError:  # a concurrent copy of the same request saved it first
            session.rollback()


def delete_note(session: Session, ref: str) -> None:
    session.exec(delete(ActionNote).where(col(ActionNote.ref) == ref))
    session.commit()


def notes_for(session: Session, refs: list[str]) -> dict[str, str]:
    """The texts of the notes with these refs (missing refs are left out)."""
    if not refs:
        return {}
    rows = session.exec(select(ActionNote).where(col(ActionNote.ref).in_(refs))).all()
    return {note.ref: note.text for note in rows}
