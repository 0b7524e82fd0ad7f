"""The case store's write side: one change -> event + current row + outbox, in one transaction.

A change is written with a few SQLAlchemy Core statements, prepared once per store:

1. (only if the change has notices) the staff who hold the notices' roles, in one query;
2. the event, chained to the run's previous event (models/audit_chain: the run is locked
   first, so two changes of one run never both follow the same event), then
   `INSERT ... ON CONFLICT (run_id, seq) DO NOTHING`: if it inserts nothing the
   change is already recorded and nothing else is written. A concurrent copy of the same
   change waits on the unique index (PostgreSQL) or on the write lock (SQLite), so running
   the activity twice, even at once (a retry, a local activity run again), adds nothing;
3. the current row, `INSERT ... ON CONFLICT (run_id) DO UPDATE ... WHERE seq < new seq`:
   one statement whether or not the row exists, and a late, older change never wins;
4. the teams the transfer involves (`TransferTeam`: sending, receiving, responsible, the
   parties named, a team a dispute redirects it to), `INSERT ... ON CONFLICT DO NOTHING`:
   only ever added to, so a team keeps reading a transfer it once held (api/need_to_know);
5. the change's emails, one row per recipient.

Both SQLite (the default) and PostgreSQL (production) support these `ON CONFLICT` clauses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Row, Table, Text, bindparam, cast, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import ColumnElement
from temporalio import activity

from models.audit_chain import event_hash
from models.external_addresses import ExternalAddresses
from models.protocol import Side
from models.report_facts import facts
from models.tables import Notification, Staff, Transfer, TransferEvent, TransferTeam
from models.transfer import ChangeRecord, ExternalRecipient, Notice

log = logging.getLogger(__name__)

EVENTS: Table = TransferEvent.__table__  # type: ignore[attr-defined]
CURRENT: Table = Transfer.__table__  # type: ignore[attr-defined]
OUTBOX: Table = Notification.__table__  # type: ignore[attr-defined]
STAFF: Table = Staff.__table__  # type: ignore[attr-defined]
TEAMS: Table = TransferTeam.__table__  # type: ignore[attr-defined]
StaffRow = Row[Any, Any, Any, Any]  # id, team, role, email

# The current row's columns a change rewrites (all but run_id and started_at).
REWRITTEN = ("transfer_id", "case_id", "authority", "pathway", "stage", "from_team", "to_team",
             "responsible_team", "next_deadline_at", "overdue", "updated_at", "seq", "view",
             "anchor_at", "transferred_at", "breached", "transfer_late")


def _utc(value: datetime) -> datetime:
    """Store times in UTC: SQLite keeps no offset, so every time must share one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Statements:
    """The statements record_change runs, built once for the engine's dialect."""

    def __init__(self, dialect: str) -> None:
        insert: Callable[[Table], Any]
        if dialect == "sqlite":
            insert = sqlite.insert
            # The view is serialised once, by pydantic, and that JSON text is stored as it is.
            view: ColumnElement[Any] = bindparam("view", type_=Text)
        elif dialect == "postgresql":
            insert = postgresql.insert
            view = cast(bindparam("view", type_=Text), JSON)
        else:
            raise ValueError(f"the case store runs on SQLite or PostgreSQL, not {dialect}")

        # RETURNING says whether the event was inserted (rowcount does not, on every driver).
        self.event = (insert(EVENTS).on_conflict_do_nothing(index_elements=["run_id", "seq"])
                      .returning(EVENTS.c.id))

        values: dict[str, ColumnElement[Any]] = {
            name: bindparam(name, type_=CURRENT.c[name].type)
            for name in ("run_id", "started_at", *REWRITTEN)
        }
        current = insert(CURRENT).values(values | {"view": view})
        self.current = current.on_conflict_do_update(
            index_elements=["run_id"],
            set_={name: current.excluded[name] for name in REWRITTEN},
            where=CURRENT.c.seq < current.excluded.seq,  # a late, older change never wins
        )

        self.teams = insert(TEAMS).on_conflict_do_nothing(
            index_elements=["authority", "team", "transfer_id"])

        self.outbox = OUTBOX.insert()

        self.staff = (
            select(STAFF.c.id, STAFF.c.team, STAFF.c.role, STAFF.c.email)
            .where(STAFF.c.authority == bindparam("authority"),
                   STAFF.c.role.in_(bindparam("roles", expanding=True)),
                   # Leavers are not told about children's cases; systems are not emailed.
                   STAFF.c.active.is_(True), STAFF.c.kind == "person")
            .order_by(STAFF.c.id)
        )


_LAST_HASH = (select(EVENTS.c.hash).where(EVENTS.c.run_id == bindparam("run_id"))
              .order_by(EVENTS.c.id.desc()).limit(1))
_RUN_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:run_id, 0))")


def chain_event(conn: Connection, event: dict[str, Any]) -> dict[str, Any]:
    """`event` with its place in its run's hash chain (prev_hash, hash).

    Call it inside the transaction that inserts the event. The run stays locked until that
    transaction ends, so the last hash read here is still the last when the event goes in:
    on PostgreSQL by a transaction-scoped advisory lock on the run, on SQLite by taking the
    database's write lock now (a SELECT alone would run outside the transaction).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_RUN_LOCK, {"run_id": event["run_id"]})
    elif not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    prev = conn.execute(_LAST_HASH, {"run_id": event["run_id"]}).scalar()
    return event | {"prev_hash": prev, "hash": event_hash(event, prev)}


class CaseStoreActivities:
    def __init__(self, engine: Engine, addresses: ExternalAddresses | None = None) -> None:
        self._engine = engine
        self._sql = _Statements(engine.dialect.name)
        self._addresses = addresses or ExternalAddresses()

    @activity.defn(name="record_change")
    def record_change(self, change: ChangeRecord) -> None:
        """Record one change exactly once, however often (or however concurrently) it runs."""
        with self._engine.begin() as conn:
            # Read first: on SQLite the write lock is taken by the first insert, so it is
            # held for the writes alone.
            staff = (conn.execute(self._sql.staff, self._staff_params(change)).all()
                     if change.notices else ())
            at = _utc(change.at)
            event = chain_event(conn, self._event_row(change, at))
            if conn.execute(self._sql.event, event).first() is None:
                log.info("change %s:%s already recorded", change.run_id, change.seq)
                return
            conn.execute(self._sql.current, self._current_row(change, at))
            conn.execute(self._sql.teams, _team_rows(change))
            emails = self._outbox(change, at, staff)
            if emails:
                conn.execute(self._sql.outbox, emails)

    @staticmethod
    def _event_row(change: ChangeRecord, at: datetime) -> dict[str, Any]:
        actor = change.actor
        return {
            "run_id": change.run_id,
            "transfer_id": change.transfer_id,
            "seq": change.seq,
            "at": at,
            "kind": change.kind,
            "summary": change.summary,
            "actor_id": actor.staff_id if actor else None,
            "actor_role": actor.role.value if actor else None,
            "actor_team": actor.team if actor else None,
            "note_ref": change.note_ref,
            "stage": change.view.stage.value,
        }

    @staticmethod
    def _current_row(change: ChangeRecord, at: datetime) -> dict[str, Any]:
        view = change.view
        nxt = view.next_deadline
        return {
            "run_id": change.run_id,
            "started_at": at,  # kept from the first change: not among the rewritten columns
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
            "view": view.model_dump_json(),
        } | facts(view.anchor_at, view.transferred_at,
                  ((d.id, d.status.value, d.met_when) for d in view.deadlines))

    @staticmethod
    def _wanted(change: ChangeRecord, notice: Notice) -> list[tuple[str, list[str] | None]]:
        """(role, teams) pairs a notice names: staff with the role in any of the teams (a
        side's team, or the service it belongs to); teams None: anyone in the authority."""
        view = change.view
        wanted: list[tuple[str, list[str] | None]] = []
        for ref in notice.to:
            if ref.side is Side.authority:
                wanted.append((ref.role.value, None))
            elif ref.side in (Side.sending, Side.receiving):
                team = view.from_team if ref.side is Side.sending else view.to_team
                service = notice.services.get(team)
                wanted.append((ref.role.value, [team, service] if service else [team]))
        return wanted + [(extra.role.value, [extra.team]) for extra in notice.also]

    def _staff_params(self, change: ChangeRecord) -> dict[str, Any]:
        roles = {role for notice in change.notices for role, _ in self._wanted(change, notice)}
        return {"authority": change.view.authority, "roles": sorted(roles)}

    def _outbox(self, change: ChangeRecord, at: datetime,
                staff: Sequence[StaffRow]) -> list[dict[str, Any]]:
        """One email per staff member per change; the first notice naming them wins."""
        chosen: dict[str, tuple[StaffRow, Notice, str]] = {}
        for notice in change.notices:
            for role, teams in self._wanted(change, notice):
                found = [m for m in staff  # already in id order
                         if m.role == role and (teams is None or m.team in teams)]
                if not found:
                    log.warning(
                        "no staff hold role %s in team %s for transfer %s; notice not sent",
                        role,
                        " or ".join(teams) if teams is not None else "(any)",
                        change.transfer_id,
                    )
                for member in found:
                    chosen.setdefault(member.id, (member, notice, role))
        return [*self._outside(change, at),
                *(_email(change, at, notice, member.id, role, member.team, member.email)
                  for member, notice, role in chosen.values())]

    def _outside(self, change: ChangeRecord, at: datetime) -> list[dict[str, Any]]:
        """One email per organisation outside the council per change, at its configured
        address; the first notice naming it wins."""
        chosen: dict[str, tuple[ExternalRecipient, Notice, str]] = {}
        for notice in change.notices:
            for whom in notice.outside:
                address = self._addresses.address(change.view.authority, whom.external,
                                                  whom.organisation)
                name = f"{whom.external}:{whom.organisation}" if whom.organisation \
                    else whom.external
                if address is None:
                    log.warning("no address configured for external party %s of %s for "
                                "transfer %s; notice not sent", name, change.view.authority,
                                change.transfer_id)
                    continue
                chosen.setdefault(name, (whom, notice, address))
        return [_email(change, at, notice, f"external:{name}", whom.role.value, whom.external,
                       address) for name, (whom, notice, address) in chosen.items()]


def _team_rows(change: ChangeRecord) -> list[dict[str, Any]]:
    """The teams a change shows the transfer involving, sorted (a stable lock order)."""
    view = change.view
    teams = {view.from_team, view.to_team, view.responsible_team, *view.parties.values()}
    if view.redirected_to:
        teams.add(view.redirected_to)
    return [{"authority": view.authority, "team": team, "transfer_id": view.transfer_id}
            for team in sorted(teams) if team]


def _email(change: ChangeRecord, at: datetime, notice: Notice, recipient_id: str, role: str,
           team: str, address: str) -> dict[str, Any]:
    """One outbox row: keyed by change and recipient, so a retried write adds nothing."""
    return {
        "key": f"{change.run_id}:{change.seq}:{recipient_id}",
        "run_id": change.run_id,
        "seq": change.seq,
        "transfer_id": change.transfer_id,
        "recipient_id": recipient_id,
        "recipient_role": role,
        "recipient_team": team,
        "email": address,
        "subject": notice.subject,
        "body": notice.body,
        "created_at": at,
        "sent_at": None,
        "attempts": 0,
        "last_error": None,
    }
