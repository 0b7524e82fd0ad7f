"""The case store's read side (and manager notes) for the HTTP API.

Times are stored in UTC. SQLite hands them back without an offset: pass them
through `aware()` before showing or comparing them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Text, cast, delete, func, or_, union_all
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.tables import (
    ActionNote,
    ApiToken,
    Notification,
    ReadRecord,
    Staff,
    StartKey,
    Transfer,
    TransferEvent,
    TransferTeam,
)


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


def _tray_parts(overdue: bool | None, now: datetime) -> list[ColumnElement[bool]]:
    """The `overdue` filter as disjoint parts, each an ordered range of one tray index.

    Overdue means flagged by the workflow, or not flagged yet though the next deadline
    has passed. Each part is read in deadline order from its partial index
    (`ix_transfer_tray_flagged` or `ix_transfer_tray_unflagged`), so a page stops after
    its rows; as one OR, PostgreSQL either visits every overdue row of the store or walks
    the whole authority in deadline order looking for a team's rows.
    """
    flagged = col(Transfer.overdue).is_(True)
    unflagged = col(Transfer.overdue).is_(False)
    if overdue is True:
        return [flagged, unflagged & (col(Transfer.next_deadline_at) < aware(now))]
    if overdue is False:
        # NULL next_deadline_at must count as "not late", not as unknown.
        return [unflagged & or_(col(Transfer.next_deadline_at).is_(None),
                                col(Transfer.next_deadline_at) >= aware(now))]
    return [flagged, unflagged]


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
    readable_by: frozenset[str] | None = None,
    named_on: Sequence[str] = (),
    pathway: str | None = None,
) -> tuple[list[str], int]:
    """One page of matching transfers' stored views (JSON text, as written: the workflow's
    `TransferView`), soonest deadline first, and how many match in all.

    `readable_by` (with `authority`): only the transfers these teams have ever been
    involved in (api/need_to_know), or whose pathway is one of `named_on`; None: all."""
    where: list[ColumnElement[bool]] = []
    if authority is not None:
        where.append(col(Transfer.authority) == authority)
    if readable_by is not None and (team is None or team not in readable_by):
        # A tray of one of the reader's own teams needs no more: the teams a row names are
        # always among its TransferTeam rows (written with it), so the team filter below
        # already keeps the rows the reader may see, on the tray indexes alone.
        where.append(_readable(authority, readable_by, named_on))
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
    if pathway is not None:
        where.append(col(Transfer.pathway) == pathway)
    parts = [[*where, part] for part in _tray_parts(overdue, now)]
    text = cast(col(Transfer.view), Text).label("view")
    deadline, tid = col(Transfer.next_deadline_at), col(Transfer.transfer_id)
    if len(parts) == 1:
        page = (
            select(text).where(*parts[0])
            .order_by(deadline.asc().nulls_last(), tid).limit(limit).offset(offset))
    else:
        # Each part's first offset + limit rows, in order, then the page of their union.
        firsts = union_all(*(
            select(select(deadline, tid, text).where(*part)
                   .order_by(deadline.asc().nulls_last(), tid).limit(offset + limit)
                   .subquery())
            for part in parts)).subquery()
        page = (select(firsts.c.view)
                .order_by(firsts.c.next_deadline_at.asc().nulls_last(), firsts.c.transfer_id)
                .limit(limit).offset(offset))
    views = list(session.exec(page).all())
    if (views and len(views) < limit) or (not views and offset == 0):
        return views, offset + len(views)  # the last page: no need to count
    counts = [select(func.count()).select_from(Transfer).where(*part).scalar_subquery()
              for part in parts]
    total: ColumnElement[int] = counts[0]
    for more in counts[1:]:
        total = total + more
    return views, int(session.exec(select(total)).one())


def _readable(authority: str | None, teams: frozenset[str], named_on: Sequence[str]
              ) -> ColumnElement[bool]:
    """Need to know, as a filter each tray part applies while it walks its index in
    deadline order: the team's transfer ids are one range of TransferTeam's key, so
    PostgreSQL probes that key per row for a page, or hashes the ids once to count (the
    count stays an index-only scan: transfer_id is in both tray indexes)."""
    ids = select(TransferTeam.transfer_id).where(col(TransferTeam.team).in_(sorted(teams)))
    if authority is not None:
        ids = ids.where(TransferTeam.authority == authority)
    involved = col(Transfer.transfer_id).in_(ids)
    if not named_on:
        return involved
    return or_(involved, col(Transfer.pathway).in_(list(named_on)))


def involves(session: Session, *, authority: str, transfer_id: str, teams: frozenset[str]
             ) -> set[str]:
    """Which of these teams a transfer (any of its runs) has ever involved."""
    if not teams:
        return set()
    return set(session.exec(select(TransferTeam.team).where(
        TransferTeam.authority == authority, col(TransferTeam.team).in_(sorted(teams)),
        TransferTeam.transfer_id == transfer_id)).all())


def record_read(session: Session, *, staff: Staff, what: str, transfer_id: str | None,
                now: datetime, refused: bool = False, recipient: str | None = None) -> None:
    """Keep (and commit) one read: who read what (whose mail), when."""
    session.add(ReadRecord(at=aware(now), staff_id=staff.id, authority=staff.authority,
                           what=what, transfer_id=transfer_id, recipient=recipient,
                           refused=refused))
    session.commit()


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
    session: Session, *, authority: str, recipient: str | None, transfer_id: str | None,
    limit: int
) -> list[Notification]:
    """One authority's outbox rows (its transfers' and weekly meetings'), newest first: chosen
    in SQL, so another authority's rows never use up the limit."""
    query = select(Notification).where(or_(
        col(Notification.transfer_id).startswith(f"transfer-{authority}-", autoescape=True),
        col(Notification.transfer_id).startswith(f"meeting-{authority}-", autoescape=True)))
    if recipient is not None:
        query = query.where(Notification.recipient_id == recipient)
    if transfer_id is not None:
        query = query.where(Notification.transfer_id == transfer_id)
    query = query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    return list(session.exec(query.limit(limit)).all())


def token_holder(session: Session, token: str) -> tuple[ApiToken, Staff] | None:
    """The API token (only its SHA-256 is stored) and the staff member it was issued to,
    whether or not it is still good: the caller says why one is refused."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    found = session.exec(select(ApiToken, Staff).join(
        Staff, col(Staff.id) == col(ApiToken.staff_id)).where(ApiToken.sha256 == digest)).first()
    return None if found is None else (found[0], found[1])


def staff_by_subject(session: Session, subject: str) -> Staff | None:
    """The staff member who signs in through the identity provider as `subject`."""
    return session.exec(select(Staff).where(Staff.idp_subject == subject)).first()


def staff_by_token(session: Session, token: str, now: datetime) -> Staff | None:
    """The staff member a good token belongs to: not revoked, not expired (None else)."""
    found = token_holder(session, token)
    if found is None:
        return None
    held, staff = found
    if held.revoked_at is not None or (held.expires_at is not None
                                       and aware(held.expires_at) <= aware(now)):
        return None
    return staff


def save_note(
    session: Session, *, ref: str, transfer_id: str, staff_id: str, text: str, now: datetime
) -> bool:
    """Keep (and commit) a note under its ref; saving the same ref again changes nothing.
    True only when this call stored it (so only this request may take it back)."""
    if session.get(ActionNote, ref) is not None:
        return False
    session.add(ActionNote(ref=ref, transfer_id=transfer_id, staff_id=staff_id, text=text,
                           created_at=aware(now)))
    try:
        session.commit()
    except IntegrityError:  # a concurrent copy of the same request saved it first
        session.rollback()
        return False
    return True


def notes_for(session: Session, refs: list[str]) -> dict[str, str]:
    """The texts of the notes with these refs (missing refs are left out)."""
    if not refs:
        return {}
    rows = session.exec(select(ActionNote).where(col(ActionNote.ref).in_(refs))).all()
    return {note.ref: note.text for note in rows}


def register_start_key(
    session: Session, *, authority: str, key: str, case_id: str, transfer_id: str,
    staff_id: str, now: datetime,
) -> StartKey | None:
    """Register (and commit) an Idempotency-Key sent to start `case_id`: None if this call
    registered it, else the key's first use (which may name another case)."""
    for attempt in range(5):
        first = session.get(StartKey, (authority, key))
        if first is not None:
            return first
        session.add(StartKey(authority=authority, key=key, case_id=case_id,
                             transfer_id=transfer_id, staff_id=staff_id, created_at=aware(now)))
        try:
            session.commit()
            return None
        except IntegrityError:
            # A concurrent request registered the key first: read its row (or, had that
            # start since been refused and the key released, register it again).
            session.rollback()
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def release_start_key(session: Session, *, authority: str, key: str, case_id: str) -> None:
    """Forget a start key whose start was refused, so that it may start another case."""
    session.exec(delete(StartKey).where(
        col(StartKey.authority) == authority, col(StartKey.key) == key,
        col(StartKey.case_id) == case_id))
    session.commit()
