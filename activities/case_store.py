"""The case store's write side: one change -> event + current row + outbox, in one transaction."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity

from models.protocol import Side
from models.tables import Notification, Staff, Transfer, TransferEvent
from models.transfer import ChangeRecord, Notice

log = logging.getLogger(__name__)


def _utc(value: datetime) -> datetime:
    """Store times in UTC: SQLite keeps no offset, so every time must share one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CaseStoreActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="record_change")
    def record_change(self, change: ChangeRecord) -> None:
        """Record one change exactly once, however often the activity is retried."""
        try:
            with Session(self._engine) as session:
                if self._write(session, change):
                    session.commit()
        except IntegrityError:
            # Another attempt recorded the same change between our check and our insert.
            with Session(self._engine) as session:
                if self._event_exists(session, change):
                    log.info("change %s:%s already recorded", change.run_id, change.seq)
                    return
            raise

    @staticmethod
    def _event_exists(session: Session, change: ChangeRecord) -> bool:
        found = session.exec(
            select(TransferEvent.id).where(
                TransferEvent.run_id == change.run_id, TransferEvent.seq == change.seq
            )
        ).first()
        return found is not None

    def _write(self, session: Session, change: ChangeRecord) -> bool:
        """Stage the change in `session`; False if it was already recorded."""
        if self._event_exists(session, change):
            return False
        view, at = change.view, _utc(change.at)
        actor = change.actor
        session.add(
            TransferEvent(
                run_id=change.run_id,
                transfer_id=change.transfer_id,
                seq=change.seq,
                at=at,
                kind=change.kind,
                summary=change.summary,
                actor_id=actor.staff_id if actor else None,
                actor_role=actor.role.value if actor else None,
                actor_team=actor.team if actor else None,
                note_ref=change.note_ref,
                stage=view.stage.value,
            )
        )
        session.flush()  # a duplicate (run_id, seq) fails here, before anything else
        self._upsert_current(session, change, at)
        session.add_all(self._outbox(session, change, at))
        return True

    @staticmethod
    def _upsert_current(session: Session, change: ChangeRecord, at: datetime) -> None:
        view = change.view
        nxt = view.next_deadline
        values: dict[str, Any] = {
            "transfer_id": view.transfer_id,
            "case_id": view.case_id,
            "authority": view.authority,
            "pathway": view.pathway,
            "stage": view.stage.value,
            "from_team": view.from_team,
            "to_team": view.to_team,
            "responsible_team": view.responsible_team,
            "next_deadline_at": _utc(nxt.due_at) if nxt else None,
            "overdue": view.overdue,
            "updated_at": at,
            "seq": change.seq,
            "view": view.model_dump(mode="json"),
        }
        # Conditional in the database, so a late, older change can never win a race.
        updated = session.exec(
            update(Transfer)
            .where(col(Transfer.run_id) == change.run_id, col(Transfer.seq) < change.seq)
            .values(**values)
        )
        if updated.rowcount:
            return
        if session.get(Transfer, change.run_id) is None:
            session.add(Transfer(run_id=change.run_id, started_at=at, **values))
            session.flush()

    @staticmethod
    def _outbox(session: Session, change: ChangeRecord, at: datetime) -> list[Notification]:
        """One email per staff member per change; the first notice naming them wins."""
        view = change.view
        chosen: dict[str, tuple[Staff, Notice, str, str]] = {}
        for notice in change.notices:
            wanted: list[tuple[str, str | None]] = [
                (ref.role.value, None if ref.side is Side.authority
                 else view.from_team if ref.side is Side.sending else view.to_team)
                for ref in notice.to
            ] + [(extra.role.value, extra.team) for extra in notice.also]
            for role, team in wanted:
                query = select(Staff).where(Staff.authority == view.authority, Staff.role == role)
                if team is not None:  # None: anyone in the authority holding the role
                    query = query.where(Staff.team == team)
                staff = session.exec(query.order_by(col(Staff.id))).all()
                if not staff:
                    log.warning(
                        "no staff hold role %s in team %s for transfer %s; notice not sent",
                        role,
                        team or "(any)",
                        change.transfer_id,
                    )
                for member in staff:
                    chosen.setdefault(member.id, (member, notice, role, member.team))
        return [
            Notification(
                key=f"{change.run_id}:{change.seq}:{member.id}",
                run_id=change.run_id,
                seq=change.seq,
                transfer_id=change.transfer_id,
                recipient_id=member.id,
                recipient_role=role,
                recipient_team=team,
                email=member.email,
                subject=notice.subject,
                body=notice.body,
                created_at=at,
            )
            for member, notice, role, team in chosen.values()
        ]
