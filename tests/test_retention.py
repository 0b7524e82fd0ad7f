"""The retention schedule (ops/retention), on SQLite and on PostgreSQL, at chosen dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy
from sqlmodel import Session, col, select

from activities.case_store import CaseStoreActivities
from activities.outbox import _ALL_UNSENT
from api import store_queries as q
from models.tables import ActionNote, Notification, Staff, StartKey, TransferEvent
from models.transfer import Stage
from ops import audit, retention
from ops.retention import Schedule
from tests.test_case_store import STAFF, change, started_notices

NOW = datetime(2031, 3, 3, 12, tzinfo=UTC)
SCHEDULE = Schedule(notes_days=365, emails_days=90, start_keys_days=30,
                    unreferenced_notes_days=30)
OLD = datetime(2029, 1, 10, 9, tzinfo=UTC)  # closed > 1 year before NOW
MIDDLE = datetime(2030, 9, 1, 9, tzinfo=UTC)  # closed < 1 year, > 90 days before NOW
RECENT = datetime(2031, 2, 20, 9, tzinfo=UTC)  # closed < 90 days before NOW


def write(store: CaseStoreActivities, seq: int, run_id: str, at: datetime,
          stage: Stage = Stage.proposed, with_note: bool = True, emails: bool = False) -> None:
    base = change(seq, run_id=run_id, transfer_id=f"TR-{run_id}", at=at, stage=stage,
                  notices=started_notices()[:1] if emails else [])
    store.record_change(base.model_copy(
        update={"note_ref": f"{run_id}:n{seq}" if with_note else None}))


def closed_run(engine: sqlalchemy.Engine, run_id: str, closed_at: datetime,
               stage: Stage = Stage.closed) -> None:
    """Three changes, two with notes and the first with emails; the last ends the run."""
    store = CaseStoreActivities(engine)
    write(store, 1, run_id, closed_at - timedelta(days=20), emails=True)
    write(store, 2, run_id, closed_at - timedelta(days=10))
    write(store, 3, run_id, closed_at, stage=stage, with_note=False)
    with Session(engine) as session:
        for seq in (1, 2):
            note(session, f"{run_id}:n{seq}", closed_at, f"TR-{run_id}")


def note(session: Session, ref: str, created: datetime, transfer_id: str = "TR-x") -> None:
    assert q.save_note(session, ref=ref, transfer_id=transfer_id, staff_id="sm-sgcp",
                       text="why", now=created)


@pytest.fixture
def history(engine: sqlalchemy.Engine) -> sqlalchemy.Engine:
    with Session(engine) as session:
        session.add_all(Staff(id=sid, authority=a, team=t, role=r, display_name=sid,
                              email=f"{sid}@council.example")
                        for sid, a, t, r in STAFF)
        session.commit()
    closed_run(engine, "old", OLD)
    closed_run(engine, "withdrawn", OLD, Stage.withdrawn)
    closed_run(engine, "middle", MIDDLE)
    closed_run(engine, "recent", RECENT)
    # Open since long ago: nothing of it goes, however old.
    write(CaseStoreActivities(engine), 1, "open", OLD, emails=True)
    with Session(engine) as session:
        note(session, "open:n1", OLD, "TR-open")
        note(session, "orphan-old", OLD)  # its action was refused: no event names it
        note(session, "orphan-recent", RECENT)
        session.add(Notification(
            key="agenda-old", run_id="meeting-gateshead-2029-W02", seq=1,
            transfer_id="meeting-gateshead-2029-W02", recipient_id="chair",
            recipient_role="chair", recipient_team="authority", email="chair@x.example",
            subject="Agenda", body="- C1: TR-old", created_at=OLD))
        session.commit()
        for key, created in (("k-old", NOW - timedelta(days=31)),
                             ("k-new", NOW - timedelta(days=29))):
            q.register_start_key(session, authority="gateshead", key=key, case_id="C1",
                                 transfer_id="TR-old", staff_id="sm-sgcp", now=created)
    return engine


def notes(engine: sqlalchemy.Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(ActionNote.ref)).all())


def purged_emails(engine: sqlalchemy.Engine) -> dict[str, tuple[str, bool]]:
    """run_id -> (body, purged) of each email."""
    with Session(engine) as session:
        return {n.run_id: (n.body, n.body_purged_at is not None)
                for n in session.exec(select(Notification)).all()}


def trail(engine: sqlalchemy.Engine, run_id: str) -> list[TransferEvent]:
    with Session(engine) as session:
        return list(session.exec(select(TransferEvent).where(TransferEvent.run_id == run_id)
                                 .order_by(col(TransferEvent.seq))).all())


def keys(engine: sqlalchemy.Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(StartKey.key)).all())


def test_a_dry_run_says_what_and_changes_nothing(history: sqlalchemy.Engine,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    before = (notes(history), purged_emails(history), keys(history))
    assert retention.run(["purge", "--dry-run"], history, NOW, SCHEDULE) == 0
    out = capsys.readouterr().out
    assert "TR-old (run old, closed 2029-01-10): would remove 2 note(s), 2 email body(ies)" \
        in out
    assert "TR-middle (run middle, closed 2030-09-01): would remove 0 note(s), 2 email" in out
    assert "would remove: 4 note(s) and 6 email body(ies) of 3 closed run(s); 1 " \
        "unreferenced note(s); 1 agenda body(ies); 1 start key(s)" in out
    assert "TR-recent" not in out and "TR-open" not in out
    assert (notes(history), purged_emails(history), keys(history)) == before
    assert [e.seq for e in trail(history, "old")] == [1, 2, 3]


def test_the_purge_removes_what_is_due_and_says_so_in_the_trail(
        history: sqlalchemy.Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert retention.run(["purge"], history, NOW, SCHEDULE) == 0
    assert "removed: 4 note(s) and 6 email body(ies)" in capsys.readouterr().out
    assert notes(history) == ["middle:n1", "middle:n2", "open:n1", "orphan-recent",
                              "recent:n1", "recent:n2"]
    emails = purged_emails(history)
    assert emails["old"] == emails["withdrawn"] == emails["middle"] == ("", True)
    assert emails["meeting-gateshead-2029-W02"] == ("", True)
    assert emails["recent"][1] is False and emails["open"][1] is False
    assert keys(history) == ["k-new"]

    *_, last = trail(history, "old")
    assert (last.seq, last.kind, last.stage, last.actor_id, last.note_ref) == (
        4, "retention_purged", "closed", None, None)
    assert last.summary == "Retention schedule: 2 note(s) and 2 email body(ies) removed"
    assert q.aware(last.at) == NOW
    assert trail(history, "withdrawn")[-1].stage == "withdrawn"
    assert trail(history, "middle")[-1].summary == (
        "Retention schedule: 0 note(s) and 2 email body(ies) removed")
    assert [e.seq for e in trail(history, "recent")] == [1, 2, 3]
    assert [e.seq for e in trail(history, "open")] == [1]
    # The new events are chained like any other: every chain still holds.
    assert audit.verify(history).breaks == []
    # A blanked email is never sent, even one that never was.
    with history.connect() as conn:
        unsent = {r.key for r in conn.execute(_ALL_UNSENT, {"limit": 100})}
    assert all(not k.startswith(("old:", "withdrawn:", "middle:", "agenda")) for k in unsent)


def test_running_it_again_finds_nothing_more(history: sqlalchemy.Engine,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    retention.purge(history, SCHEDULE, NOW)
    again = retention.purge(history, SCHEDULE, NOW + timedelta(days=1))
    assert (again.runs, again.unreferenced_notes, again.agenda_emails, again.start_keys) == (
        [], [], [], [])
    assert [e.seq for e in trail(history, "old")] == [1, 2, 3, 4]


def test_later_the_rest_falls_due(history: sqlalchemy.Engine) -> None:
    retention.purge(history, SCHEDULE, NOW)
    later = retention.purge(history, SCHEDULE, MIDDLE + timedelta(days=366))
    assert [(r.run_id, len(r.notes), len(r.emails)) for r in later.runs] == [
        ("middle", 2, 0), ("recent", 0, 2)]
    assert [e.seq for e in trail(history, "middle")] == [1, 2, 3, 4, 5]
    assert audit.verify(history).breaks == []


def test_a_refused_actions_note_goes_after_its_own_shorter_period(
        history: sqlalchemy.Engine) -> None:
    """Notes no event names (their action was refused) are purged once they are
    `unreferenced_notes_days` old, however long the notes of the trail are kept."""
    assert "orphan-recent" in notes(history)  # written 11 days before NOW
    retention.purge(history, SCHEDULE, NOW + timedelta(days=18))
    assert "orphan-recent" in notes(history)
    retention.purge(history, SCHEDULE, NOW + timedelta(days=20))
    assert "orphan-recent" not in notes(history)
    assert "open:n1" in notes(history)  # an open transfer's note stays, however old
