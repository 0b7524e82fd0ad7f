"""The retention schedule: `python -m ops.retention purge [--dry-run]`.

What is removed, and when (settings, in days):

- the notes given with a transfer's actions (actionnote), RETENTION_NOTES_DAYS after the
  transfer closed (or ended: withdrawn, redirected, declined); a note no event refers to
  (its action was refused, or never reached the trail), RETENTION_UNREFERENCED_NOTES_DAYS
  after it was written;
- the bodies of the emails about a transfer (notification), RETENTION_EMAILS_DAYS after it
  closed; a weekly meeting's agenda, that long after it was written. The row stays, with
  `body_purged_at` set: who was emailed about what, and when, is still known;
- start keys (startkey), RETENTION_START_KEYS_DAYS after they were sent: they only make a
  retried start safe.

The audit trail itself is never purged here. Each closed run that loses a note or an email
gets one more event in its trail, `retention_purged` (seq = its last + 1, chained like every
other event): no workflow writes to a closed run, so that seq is free. A run's purge is one
transaction: its notes, its emails and its event go together or not at all.

Runs as the schema's owner (MIGRATION_DATABASE_URL): the app's role may not rewrite an
email. Schedule it daily (cron, a systemd timer or a Kubernetes CronJob); running it again
the same day finds nothing more to do and writes no event.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from activities.case_store import chain_event
from config import Settings, get_settings
from database import make_engine
from models.tables import ActionNote, Notification, StartKey, Transfer, TransferEvent
from models.transfer import FINAL_STAGES

log = logging.getLogger(__name__)

CURRENT: Table = Transfer.__table__  # type: ignore[attr-defined]
EVENTS: Table = TransferEvent.__table__  # type: ignore[attr-defined]
NOTES: Table = ActionNote.__table__  # type: ignore[attr-defined]
OUTBOX: Table = Notification.__table__  # type: ignore[attr-defined]
KEYS: Table = StartKey.__table__  # type: ignore[attr-defined]
KIND = "retention_purged"


@dataclass(frozen=True)
class Schedule:
    notes_days: int
    emails_days: int
    start_keys_days: int
    unreferenced_notes_days: int = 30

    @classmethod
    def from_settings(cls, s: Settings) -> Schedule:
        return cls(s.retention_notes_days, s.retention_emails_days, s.retention_start_keys_days,
                   s.retention_unreferenced_notes_days)


@dataclass
class RunPurge:
    """What one closed run loses."""

    transfer_id: str
    run_id: str
    closed_at: datetime
    stage: str
    notes: list[str] = field(default_factory=list)  # refs
    emails: list[int] = field(default_factory=list)  # notification ids


@dataclass
class Purge:
    runs: list[RunPurge] = field(default_factory=list)
    unreferenced_notes: list[str] = field(default_factory=list)
    agenda_emails: list[int] = field(default_factory=list)
    start_keys: list[tuple[str, str]] = field(default_factory=list)  # (authority, key)
    failed_runs: list[str] = field(default_factory=list)

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would remove" if dry_run else "removed"
        lines = [f"{r.transfer_id} (run {r.run_id}, closed {r.closed_at:%Y-%m-%d}): {verb} "
                 f"{len(r.notes)} note(s), {len(r.emails)} email body(ies)" for r in self.runs]
        lines.append(
            f"{verb}: {sum(len(r.notes) for r in self.runs)} note(s) and "
            f"{sum(len(r.emails) for r in self.runs)} email body(ies) of {len(self.runs)} "
            f"closed run(s); {len(self.unreferenced_notes)} unreferenced note(s); "
            f"{len(self.agenda_emails)} agenda body(ies); {len(self.start_keys)} start key(s)")
        lines += [f"FAILED {run}: nothing of this run was removed; run again"
                  for run in self.failed_runs]
        return lines


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def plan(conn: Connection, schedule: Schedule, now: datetime) -> Purge:
    """What the schedule removes at `now` (nothing is changed)."""
    notes_before = now - timedelta(days=schedule.notes_days)
    emails_before = now - timedelta(days=schedule.emails_days)
    purge = Purge()
    closed = conn.execute(
        select(CURRENT.c.transfer_id, CURRENT.c.run_id, CURRENT.c.updated_at, CURRENT.c.stage)
        .where(CURRENT.c.stage.in_([s.value for s in FINAL_STAGES]),
               CURRENT.c.updated_at < max(notes_before, emails_before))
        .order_by(CURRENT.c.updated_at, CURRENT.c.run_id)).all()
    for transfer_id, run_id, closed_at, stage in closed:
        run = RunPurge(transfer_id, run_id, _aware(closed_at), stage)
        if run.closed_at < notes_before:
            run.notes = list(conn.execute(
                select(NOTES.c.ref).join(EVENTS, EVENTS.c.note_ref == NOTES.c.ref)
                .where(EVENTS.c.run_id == run_id).distinct().order_by(NOTES.c.ref)).scalars())
        if run.closed_at < emails_before:
            run.emails = list(conn.execute(
                select(OUTBOX.c.id).where(OUTBOX.c.run_id == run_id,
                                          OUTBOX.c.body_purged_at.is_(None))
                .order_by(OUTBOX.c.id)).scalars())
        if run.notes or run.emails:
            purge.runs.append(run)
    referenced = select(EVENTS.c.id).where(EVENTS.c.note_ref == NOTES.c.ref).exists()
    unreferenced_before = now - timedelta(days=schedule.unreferenced_notes_days)
    purge.unreferenced_notes = list(conn.execute(
        select(NOTES.c.ref).where(NOTES.c.created_at < unreferenced_before, ~referenced)
        .order_by(NOTES.c.ref)).scalars())
    purge.agenda_emails = list(conn.execute(
        select(OUTBOX.c.id).where(OUTBOX.c.transfer_id.startswith("meeting-"),
                                  OUTBOX.c.created_at < emails_before,
                                  OUTBOX.c.body_purged_at.is_(None))
        .order_by(OUTBOX.c.id)).scalars())
    purge.start_keys = [(a, k) for a, k in conn.execute(
        select(KEYS.c.authority, KEYS.c.key)
        .where(KEYS.c.created_at < now - timedelta(days=schedule.start_keys_days))
        .order_by(KEYS.c.created_at))]
    return purge


def _blank(conn: Connection, ids: list[int], now: datetime) -> None:
    if ids:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids))
                     .values(body="", body_purged_at=now))


def _purge_run(conn: Connection, run: RunPurge, now: datetime) -> None:
    if run.notes:
        conn.execute(delete(NOTES).where(NOTES.c.ref.in_(run.notes)))
    _blank(conn, run.emails, now)
    last = conn.execute(select(func.max(EVENTS.c.seq))
                        .where(EVENTS.c.run_id == run.run_id)).scalar() or 0
    event: dict[str, Any] = {
        "run_id": run.run_id, "transfer_id": run.transfer_id, "seq": last + 1, "at": now,
        "kind": KIND, "stage": run.stage, "actor_id": None, "actor_role": None,
        "actor_team": None, "note_ref": None,
        # counts only: the trail says what the schedule did, never what was removed
        "summary": f"Retention schedule: {len(run.notes)} note(s) and {len(run.emails)} "
                   "email body(ies) removed",
    }
    conn.execute(insert(EVENTS).values(chain_event(conn, event)))


def purge(engine: Engine, schedule: Schedule, now: datetime, *, dry_run: bool = False
          ) -> Purge:
    """Remove what the schedule says is due at `now` (or, dry_run, only say what)."""
    now = _aware(now)
    with engine.connect() as conn:
        found = plan(conn, schedule, now)
    if dry_run:
        return found
    for run in list(found.runs):
        try:
            with engine.begin() as conn:
                _purge_run(conn, run, now)
        except IntegrityError:  # something else wrote to the run meanwhile: leave it whole
            log.warning("retention purge of run %s failed; left unchanged", run.run_id)
            found.runs.remove(run)
            found.failed_runs.append(run.run_id)
    with engine.begin() as conn:
        if found.unreferenced_notes:
            conn.execute(delete(NOTES).where(NOTES.c.ref.in_(found.unreferenced_notes)))
        _blank(conn, found.agenda_emails, now)
        for authority, key in found.start_keys:
            conn.execute(delete(KEYS).where(and_(KEYS.c.authority == authority,
                                                 KEYS.c.key == key)))
    return found


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.retention",
                                description="Apply the retention schedule to the case store.")
    commands = p.add_subparsers(dest="command", required=True)
    run = commands.add_parser("purge", help="remove notes, email bodies and start keys "
                                            "past the schedule")
    run.add_argument("--dry-run", action="store_true",
                     help="say what would be removed, and change nothing")
    return p


def run(argv: Sequence[str] | None = None, engine: Engine | None = None,
        now: datetime | None = None, schedule: Schedule | None = None) -> int:
    args = parser().parse_args(argv)
    settings = get_settings()
    schedule = schedule or Schedule.from_settings(settings)
    own = engine is None
    engine = engine or make_engine(settings.owner_database_url)
    try:
        done = purge(engine, schedule, now or datetime.now(UTC), dry_run=args.dry_run)
    except SQLAlchemyError as exc:
        print(f"cannot purge the case store: {type(exc).__name__}", file=sys.stderr)
        return 2
    finally:
        if own:
            engine.dispose()
    print(f"retention schedule: notes {schedule.notes_days} days and email bodies "
          f"{schedule.emails_days} days after a transfer closed; start keys "
          f"{schedule.start_keys_days} days after they were sent")
    print("\n".join(done.lines(args.dry_run)))
    return 1 if done.failed_runs else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
