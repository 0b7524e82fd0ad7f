"""The case store: record_change (the write side), the API's queries, and the migrations.

Every test taking `engine` runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, col, func, select
from temporalio.testing import ActivityEnvironment

import models.tables  # noqa: F401
from activities.case_store import CaseStoreActivities
from api import store_queries as q
from models.protocol import Role, RoleRef, Side
from models.tables import ActionNote, ApiToken, Notification, Staff, Transfer, TransferEvent
from models.transfer import (
    Actor,
    ChangeRecord,
    DeadlineStatus,
    DeadlineView,
    GateView,
    Notice,
    Stage,
    TeamRole,
    TransferView,
)

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2027, 6, 7, 10, 0, tzinfo=LONDON)  # 09:00 UTC: BST, so UTC storage is tested
NOW = T0 + timedelta(days=1)


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


STAFF = [
    # id, authority, team, role
    ("sm-sgcp", "gateshead", "sgcp", "service_manager"),
    ("tm-lac", "gateshead", "lac", "team_manager"),
    ("tm-sgcp", "gateshead", "sgcp", "team_manager"),
    ("tm-lac-ncl", "newcastle", "lac", "team_manager"),  # another authority: never emailed
]


@pytest.fixture
def staff(engine: sqlalchemy.Engine) -> dict[str, Staff]:
    rows = {
        sid: Staff(
            id=sid,
            authority=authority,
            team=team,
            role=role,
            display_name=f"Person {sid}",
            email=f"{sid}@council.example",
            idp_subject=f"subject-{sid}",
        )
        for sid, authority, team, role in STAFF
    }
    with Session(engine) as session:
        session.add_all(rows.values())
        session.add_all(ApiToken(id=f"t-{sid}", staff_id=sid, sha256=sha(f"token-{sid}"),
                                 label="test", created_at=NOW) for sid in rows)
        session.commit()
    return rows


@pytest.fixture
def store(engine: sqlalchemy.Engine) -> CaseStoreActivities:
    return CaseStoreActivities(engine)


def deadline(
    did: str, due: datetime, status: DeadlineStatus = DeadlineStatus.pending
) -> DeadlineView:
    return DeadlineView(
        id=did,
        title=did.replace("_", " ").title(),
        due_at=due,
        due_local=due.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z"),
        status=status,
    )


def view(
    *,
    run_id: str = "run-1",
    transfer_id: str = "TR-1",
    seq: int = 1,
    stage: Stage = Stage.proposed,
    authority: str = "gateshead",
    from_team: str = "sgcp",
    to_team: str = "lac",
    deadlines: list[DeadlineView] | None = None,
) -> TransferView:
    return TransferView(
        transfer_id=transfer_id,
        run_id=run_id,
        case_id=f"case-{transfer_id}",
        children=["child-1", "child-2"],
        authority=authority,
        pathway="sgcp-to-lac",
        protocol_version="2027.1",
        stage=stage,
        from_team=from_team,
        to_team=to_team,
        responsible_team=to_team if stage in (Stage.transferred, Stage.allocated) else from_team,
        anchor="care_order",
        anchor_at=T0,
        gates=[GateView(id="legal_planning", title="Legal planning meeting", action="lpm")],
        deadlines=deadlines
        if deadlines is not None
        else [
            deadline("transfer_by", T0 + timedelta(days=20)),
            deadline("allocate_by", T0 + timedelta(days=30)),
        ],
        waiting_for=["legal_planning"],
        seq=seq,
    )


def change(
    seq: int = 1,
    *,
    notices: list[Notice] | None = None,
    at: datetime | None = None,
    **view_args: Any,
) -> ChangeRecord:
    v = view(seq=seq, **view_args)
    return ChangeRecord(
        transfer_id=v.transfer_id,
        run_id=v.run_id,
        seq=seq,
        at=at or T0 + timedelta(hours=seq),
        kind="started" if seq == 1 else "gate_done",
        summary=f"change {seq}",
        actor=Actor(staff_id="sm-sgcp", role=Role.service_manager, team="sgcp"),
        note_ref=f"note-{seq}",
        view=v,
        notices=[] if notices is None else notices,
    )


def started_notices() -> list[Notice]:
    return [
        Notice(
            to=[
                RoleRef(role=Role.service_manager, side=Side.sending),
                RoleRef(role=Role.team_manager, side=Side.receiving),
            ],
            subject="Transfer proposed",
            body="A transfer has been proposed.",
        ),
        # tm-lac is named again: the first notice wins, one email per person per change.
        Notice(
            to=[RoleRef(role=Role.team_manager, side=Side.receiving)],
            subject="Second notice",
            body="Not sent to tm-lac twice.",
        ),
        Notice(
            to=[RoleRef(role=Role.iro, side=Side.receiving)],  # nobody holds this role
            subject="For the IRO",
            body="Nobody to send to.",
        ),
    ]


def counts(engine: sqlalchemy.Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (
            session.exec(select(func.count()).select_from(TransferEvent)).one(),
            session.exec(select(func.count()).select_from(Transfer)).one(),
            session.exec(select(func.count()).select_from(Notification)).one(),
        )


def current(engine: sqlalchemy.Engine, run_id: str = "run-1") -> Transfer:
    with Session(engine) as session:
        row = session.get(Transfer, run_id)
        assert row is not None
        return row


def events(engine: sqlalchemy.Engine, run_id: str = "run-1") -> list[TransferEvent]:
    with Session(engine) as session:
        return q.transfer_events(session, run_id)


def outbox(engine: sqlalchemy.Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification).order_by(col(Notification.key))).all())


# --------------------------------------------------------------------------- record_change


def test_records_event_current_row_and_outbox(
    engine: sqlalchemy.Engine,
    store: CaseStoreActivities,
    staff: dict[str, Staff],
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = change(1, notices=started_notices())
    with caplog.at_level(logging.WARNING, logger="activities.case_store"):
        ActivityEnvironment().run(store.record_change, record)

    assert counts(engine) == (1, 1, 2)

    (event,) = events(engine)
    assert (event.run_id, event.transfer_id, event.seq) == ("run-1", "TR-1", 1)
    assert (event.kind, event.summary, event.stage, event.note_ref) == (
        "started",
        "change 1",
        "proposed",
        "note-1",
    )
    assert (event.actor_id, event.actor_role, event.actor_team) == (
        "sm-sgcp",
        "service_manager",
        "sgcp",
    )
    assert q.aware(event.at) == T0 + timedelta(hours=1)

    row = current(engine)
    assert (row.transfer_id, row.case_id, row.authority, row.pathway, row.stage) == (
        "TR-1",
        "case-TR-1",
        "gateshead",
        "sgcp-to-lac",
        "proposed",
    )
    assert (row.from_team, row.to_team, row.responsible_team, row.seq) == ("sgcp", "lac", "sgcp", 1)
    assert q.aware(row.started_at) == q.aware(row.updated_at) == T0 + timedelta(hours=1)
    assert row.next_deadline_at is not None
    assert q.aware(row.next_deadline_at) == T0 + timedelta(days=20)
    assert row.overdue is False
    assert row.view == record.view.model_dump(mode="json")
    assert TransferView.model_validate(row.view) == record.view

    mails = {n.recipient_id: n for n in outbox(engine)}
    assert set(mails) == {"sm-sgcp", "tm-lac"}  # not tm-sgcp (other side), not newcastle
    assert mails["tm-lac"].subject == "Transfer proposed"  # the first notice naming them
    assert mails["tm-lac"].body == "A transfer has been proposed."
    assert (mails["tm-lac"].recipient_role, mails["tm-lac"].recipient_team) == (
        "team_manager",
        "lac",
    )
    assert (mails["sm-sgcp"].recipient_role, mails["sm-sgcp"].recipient_team) == (
        "service_manager",
        "sgcp",
    )
    for sid, mail in mails.items():
        assert mail.key == f"run-1:1:{sid}"
        assert mail.email == f"{sid}@council.example"
        assert (mail.run_id, mail.seq, mail.transfer_id) == ("run-1", 1, "TR-1")
        assert q.aware(mail.created_at) == T0 + timedelta(hours=1)
        assert mail.sent_at is None and mail.attempts == 0

    # The unresolved role is logged by identifiers only.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "iro" in warnings[0] and "lac" in warnings[0] and "TR-1" in warnings[0]
    for text in (r.getMessage() for r in caplog.records):
        assert "@council.example" not in text and "Person" not in text


def test_same_change_twice_adds_nothing(
    engine: sqlalchemy.Engine, store: CaseStoreActivities, staff: dict[str, Staff]
) -> None:
    record = change(1, notices=started_notices())
    store.record_change(record)
    before, row_before = counts(engine), current(engine)
    store.record_change(record)
    store.record_change(record.model_copy(update={"summary": "a retry must not rewrite"}))
    assert counts(engine) == before == (1, 1, 2)
    assert current(engine).model_dump() == row_before.model_dump()
    assert [e.summary for e in events(engine)] == ["change 1"]


class PausedStore(CaseStoreActivities):
    """A copy of the activity that stops inside its transaction, after the event and the
    current row, until `go` is set; it then commits, or fails and rolls back."""

    def __init__(self, engine: sqlalchemy.Engine, *, fail: bool) -> None:
        super().__init__(engine)
        self.inside, self.go, self.fail = threading.Event(), threading.Event(), fail

    def _outbox(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.inside.set()
        assert self.go.wait(30)
        if self.fail:
            raise RuntimeError("the first copy fails before it commits")
        return super()._outbox(*args, **kwargs)


@pytest.mark.parametrize("first_fails", [False, True], ids=["first-commits", "first-fails"])
def test_a_copy_running_at_the_same_time_waits_for_the_first(
    engine: sqlalchemy.Engine,
    store: CaseStoreActivities,
    staff: dict[str, Staff],
    first_fails: bool,
) -> None:
    # E.g. a local activity run again while its first run is still writing.
    record = change(1, notices=started_notices())
    first = PausedStore(engine, fail=first_fails)
    with ThreadPoolExecutor(2) as pool:
        first_run = pool.submit(first.record_change, record)
        assert first.inside.wait(30)
        second_run = pool.submit(store.record_change, record)
        time.sleep(0.5)
        assert not second_run.done()  # held by the first copy's uncommitted event
        first.go.set()
        if first_fails:
            with pytest.raises(RuntimeError):
                first_run.result(30)
        else:
            first_run.result(30)
        second_run.result(30)  # no error either way
    assert counts(engine) == (1, 1, 2)
    assert [e.summary for e in events(engine)] == ["change 1"]
    assert current(engine).seq == 1


def test_many_copies_at_once_record_each_change_once(
    engine: sqlalchemy.Engine, store: CaseStoreActivities, staff: dict[str, Staff]
) -> None:
    records = [change(seq, notices=started_notices()) for seq in (1, 2, 3)] * 4
    start = threading.Barrier(6)

    def record(item: ChangeRecord) -> None:
        start.wait(30)
        store.record_change(item)

    with ThreadPoolExecutor(6) as pool:
        for done in [pool.submit(record, item) for item in records[:6]]:
            done.result(60)
        for item in reversed(records[6:]):  # retried late, newest first
            store.record_change(item)
    assert counts(engine) == (3, 1, 6)
    assert [e.seq for e in events(engine)] == [1, 2, 3]
    assert current(engine).seq == 3


def test_notice_roles_across_the_authority_and_extra_teams(
    engine: sqlalchemy.Engine, store: CaseStoreActivities, staff: dict[str, Staff]
) -> None:
    notices = [
        Notice(to=[RoleRef(role=Role.team_manager, side=Side.authority)],
               also=[TeamRole(role=Role.service_manager, team="sgcp"),
                     TeamRole(role=Role.team_manager, team="lac")],  # named already
               subject="Everyone", body="To every team manager of the authority."),
        Notice(to=[RoleRef(role=Role.service_manager, side=Side.sending)],
               subject="Second", body="sm-sgcp has the first notice already."),
    ]
    store.record_change(change(1, notices=notices))
    with Session(engine) as session:
        rows = session.exec(select(Notification).order_by(col(Notification.id))).all()
        sent = [(n.recipient_id, n.recipient_role, n.recipient_team, n.subject) for n in rows]
    assert sent == [  # in the order they will be delivered
        ("tm-lac", "team_manager", "lac", "Everyone"),  # not newcastle's team manager
        ("tm-sgcp", "team_manager", "sgcp", "Everyone"),
        ("sm-sgcp", "service_manager", "sgcp", "Everyone"),
    ]


def test_older_change_recorded_later_does_not_regress_current_row(
    engine: sqlalchemy.Engine, store: CaseStoreActivities, staff: dict[str, Staff]
) -> None:
    store.record_change(change(1))
    store.record_change(change(3, stage=Stage.transferred))
    store.record_change(change(2, stage=Stage.ready))  # late: e.g. a retried older write

    row = current(engine)
    assert (row.seq, row.stage, row.responsible_team) == (3, "transferred", "lac")
    assert row.view["seq"] == 3
    assert q.aware(row.started_at) == T0 + timedelta(hours=1)
    assert q.aware(row.updated_at) == T0 + timedelta(hours=3)
    assert [(e.seq, e.stage) for e in events(engine)] == [
        (1, "proposed"),
        (2, "ready"),
        (3, "transferred"),
    ]
    assert counts(engine)[:2] == (3, 1)


def test_outbox_keys_are_unique_across_changes(
    engine: sqlalchemy.Engine, store: CaseStoreActivities, staff: dict[str, Staff]
) -> None:
    for seq in (1, 2, 3):
        store.record_change(change(seq, notices=started_notices()))
    store.record_change(change(2, notices=started_notices()))  # retried
    keys = [n.key for n in outbox(engine)]
    assert len(keys) == len(set(keys)) == 6
    assert sorted(keys) == sorted(
        f"run-1:{s}:{p}" for s in (1, 2, 3) for p in ("sm-sgcp", "tm-lac")
    )


def test_change_without_actor_or_notices(
    engine: sqlalchemy.Engine, store: CaseStoreActivities
) -> None:
    record = change(1).model_copy(update={"actor": None, "note_ref": None, "kind": "deadline"})
    store.record_change(record)
    (event,) = events(engine)
    assert (event.actor_id, event.actor_role, event.actor_team, event.note_ref) == (None,) * 4
    assert counts(engine) == (1, 1, 0)


def test_overdue_and_next_deadline_follow_the_view(
    engine: sqlalchemy.Engine, store: CaseStoreActivities
) -> None:
    missed = deadline("transfer_by", T0 - timedelta(days=1), DeadlineStatus.missed)
    later = deadline("allocate_by", T0 + timedelta(days=30))
    sooner = deadline("review_by", T0 + timedelta(days=5))
    store.record_change(change(1, deadlines=[missed, later, sooner]))
    row = current(engine)
    assert row.overdue is True
    assert row.next_deadline_at is not None
    assert q.aware(row.next_deadline_at) == T0 + timedelta(days=5)  # soonest *pending*

    met = [
        deadline("transfer_by", T0 - timedelta(days=1), DeadlineStatus.met_late),
        deadline("allocate_by", T0 + timedelta(days=30), DeadlineStatus.met),
    ]
    store.record_change(change(2, deadlines=met, stage=Stage.allocated))
    row = current(engine)
    assert row.overdue is False
    assert row.next_deadline_at is None


# --------------------------------------------------------------------------- store_queries


def seed_transfers(store: CaseStoreActivities) -> None:
    """Five transfers: their teams, stages and deadlines differ."""
    store.record_change(change(1, run_id="r-a", transfer_id="A"))  # due +20d
    store.record_change(
        change(
            1,
            run_id="r-b",
            transfer_id="B",
            deadlines=[deadline("transfer_by", T0 + timedelta(days=2))],
        )
    )
    store.record_change(  # late by the clock, though the workflow has not said so yet
        change(
            1,
            run_id="r-c",
            transfer_id="C",
            from_team="fst",
            to_team="cwd",
            deadlines=[deadline("transfer_by", NOW - timedelta(hours=1))],
        )
    )
    store.record_change(  # flagged overdue by the workflow, nothing pending
        change(
            1,
            run_id="r-d",
            transfer_id="D",
            stage=Stage.transferred,
            deadlines=[deadline("transfer_by", T0, DeadlineStatus.missed)],
        )
    )
    store.record_change(  # another authority, no deadlines
        change(1, run_id="r-e", transfer_id="E", authority="newcastle", deadlines=[])
    )


def listed(session: Session, **filters: Any) -> tuple[list[str], int]:
    args: dict[str, Any] = {
        "authority": None,
        "team": None,
        "stage": None,
        "overdue": None,
        "now": NOW,
        "limit": 50,
        "offset": 0,
    }
    views, total = q.list_transfers(session, **(args | filters))
    return [json.loads(v)["transfer_id"] for v in views], total


def test_list_transfers_filters_orders_and_pages(
    engine: sqlalchemy.Engine, store: CaseStoreActivities
) -> None:
    seed_transfers(store)
    with Session(engine) as session:
        # next_deadline_at ascending, nulls last, then transfer_id
        assert listed(session) == (["C", "B", "A", "D", "E"], 5)
        assert listed(session, authority="gateshead") == (["C", "B", "A", "D"], 4)
        assert listed(session, team="cwd") == (["C"], 1)  # to_team
        assert listed(session, team="fst") == (["C"], 1)  # from_team (and responsible)
        assert listed(session, team="lac") == (["B", "A", "D", "E"], 4)
        assert listed(session, stage="transferred") == (["D"], 1)
        assert listed(session, overdue=True) == (["C", "D"], 2)
        assert listed(session, overdue=False) == (["B", "A", "E"], 3)
        assert listed(session, overdue=False, authority="gateshead", team="sgcp") == (
            ["B", "A"],
            2,
        )
        # An aware `now` in another zone means the same instant.
        later = (NOW + timedelta(days=3)).astimezone(ZoneInfo("America/New_York"))
        assert listed(session, overdue=True, now=later) == (["C", "B", "D"], 3)
        assert listed(session, limit=2, offset=1) == (["B", "A"], 5)
        assert listed(session, limit=2, offset=4) == (["E"], 5)
        assert listed(session, limit=2, offset=9) == ([], 5)
        # The overdue tray is read in two parts (flagged; not flagged but late): paged
        # across both, counted across both.
        assert listed(session, overdue=True, limit=1) == (["C"], 2)
        assert listed(session, overdue=True, limit=1, offset=1) == (["D"], 2)
        assert listed(session, overdue=True, limit=1, offset=2) == ([], 2)
        assert listed(session, overdue=True, now=later, limit=2, offset=1) == (["B", "D"], 3)
        assert listed(session, overdue=True, team="fst") == (["C"], 1)
        assert listed(session, overdue=True, team="nobody") == ([], 0)


def test_list_transfers_sends_the_stored_views(
    engine: sqlalchemy.Engine, store: CaseStoreActivities
) -> None:
    seed_transfers(store)
    with Session(engine) as session:
        views, total = q.list_transfers(session, authority="gateshead", team=None, stage=None,
                                        overdue=None, now=NOW, limit=50, offset=0)
        rows = {r.run_id: r.view for r in session.exec(select(Transfer)).all()}
    assert total == 4
    for text in views:
        stored = json.loads(text)
        assert stored == rows[stored["run_id"]]
        assert TransferView.model_validate_json(text).model_dump(mode="json") == stored


def test_latest_transfer_and_events(engine: sqlalchemy.Engine, store: CaseStoreActivities) -> None:
    store.record_change(change(1, run_id="r-old", transfer_id="T", at=T0))
    store.record_change(change(2, run_id="r-old", transfer_id="T", at=T0 + timedelta(hours=1)))
    store.record_change(change(1, run_id="r-new", transfer_id="T", at=T0 + timedelta(days=2)))
    # The older run moves on after the newer run started: started_at still decides.
    store.record_change(change(3, run_id="r-old", transfer_id="T", at=T0 + timedelta(days=3)))
    with Session(engine) as session:
        latest = q.latest_transfer(session, "T")
        assert latest is not None and latest.run_id == "r-new"
        assert q.latest_transfer(session, "missing") is None
        assert [e.seq for e in q.transfer_events(session, "r-old")] == [1, 2, 3]
        assert q.transfer_events(session, "nope") == []


def test_notifications_newest_first_of_one_authority(
    engine: sqlalchemy.Engine, store: CaseStoreActivities, staff: dict[str, Staff]
) -> None:
    one, other = "transfer-gateshead-TR-1", "transfer-gateshead-X"
    store.record_change(change(1, transfer_id=one, notices=started_notices()))
    store.record_change(change(2, transfer_id=one, notices=started_notices()))
    store.record_change(change(1, run_id="r-x", transfer_id=other, notices=started_notices(),
                               at=T0 + timedelta(days=1)))
    # Newest of all: another authority's. Chosen in SQL, it never uses up the limit.
    store.record_change(change(1, run_id="r-n", transfer_id="transfer-newcastle-Y",
                               authority="newcastle", notices=started_notices(),
                               at=T0 + timedelta(days=2)))

    def notes(recipient: str | None = None, transfer_id: str | None = None,
              limit: int = 10, authority: str = "gateshead") -> list[Notification]:
        with Session(engine) as session:
            return q.notifications(session, authority=authority, recipient=recipient,
                                   transfer_id=transfer_id, limit=limit)

    assert [n.key for n in notes("tm-lac")] == ["r-x:1:tm-lac", "run-1:2:tm-lac",
                                                "run-1:1:tm-lac"]
    assert [n.seq for n in notes(transfer_id=one)] == [2, 2, 1, 1]
    assert {n.transfer_id for n in notes(limit=1)} == {other}
    assert len(notes(limit=3)) == 3
    assert notes("tm-sgcp") == []
    assert [n.recipient_id for n in notes(authority="newcastle")] == ["tm-lac-ncl"]
    # An authority's name is matched exactly: '_' is not a wildcard.
    assert notes(authority="gat_shead") == []


def test_staff_by_token(engine: sqlalchemy.Engine, staff: dict[str, Staff]) -> None:
    with Session(engine) as session:
        found = q.staff_by_token(session, "token-tm-lac", NOW)
        assert found is not None and found.id == "tm-lac"
        # the hash is no token
        assert q.staff_by_token(session, sha("token-tm-lac"), NOW) is None
        assert q.staff_by_token(session, "wrong", NOW) is None
        assert q.staff_by_token(session, "", NOW) is None
        token = session.get(ApiToken, "t-tm-lac")
        assert token is not None
        token.expires_at = (NOW + timedelta(days=1)).astimezone(UTC)  # stored in UTC
        session.add(token)
        session.commit()
        assert q.staff_by_token(session, "token-tm-lac", NOW + timedelta(hours=23)) is not None
        assert q.staff_by_token(session, "token-tm-lac", NOW + timedelta(days=1)) is None
        token.revoked_at = NOW
        session.add(token)
        session.commit()
        assert q.staff_by_token(session, "token-tm-lac", NOW) is None


def test_notes(engine: sqlalchemy.Engine) -> None:
    with Session(engine) as session:
        q.save_note(session, ref="n1", transfer_id="T", staff_id="tm-lac", text="First", now=NOW)
        q.save_note(session, ref="n1", transfer_id="T", staff_id="tm-lac", text="Again", now=NOW)
        q.save_note(session, ref="n2", transfer_id="T", staff_id="tm-lac", text="Second", now=NOW)
    with Session(engine) as session:
        assert q.notes_for(session, ["n1", "n2", "n3"]) == {"n1": "First", "n2": "Second"}
        assert q.notes_for(session, []) == {}
        note = session.get(ActionNote, "n1")
        assert note is not None and q.aware(note.created_at) == NOW
    with Session(engine) as session:
        assert q.notes_for(session, ["n1", "n2"]) == {"n1": "First", "n2": "Second"}


# --------------------------------------------------------------------------- migrations


def test_migrations_match_the_models(engine: sqlalchemy.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_aware_reads_naive_as_utc() -> None:
    naive = datetime(2027, 1, 1, 12, 0)
    assert q.aware(naive) == datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    assert q.aware(T0).utcoffset() == timedelta(0)
