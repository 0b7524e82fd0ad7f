"""The case store's tables (SQLModel). Schema changes go through Alembic (migrations/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _aware(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable,
                                                index=index))


class Staff(SQLModel, table=True):
    """The directory: who works in which team, in which role, and how they sign in.

    A person signs in through the council's identity provider (`idp_subject` is the `sub`
    of their access tokens); a system (the case management system) with an API token.
    A deactivated row keeps its history but is refused at once. `demo` rows come from
    ops/demo.py: the API and the worker refuse to start in production while one exists.
    """

    __table_args__ = (UniqueConstraint("idp_subject", name="uq_staff_idp_subject"),)

    id: str = Field(primary_key=True)
    authority: str = Field(index=True)
    team: str = Field(index=True)
    role: str
    display_name: str
    email: str
    idp_subject: str | None = None
    kind: str = "person"  # or "service": a system, signing in with API tokens only
    active: bool = True
    demo: bool = False


class ApiToken(SQLModel, table=True):
    """An API token: shown once when issued, kept only as its SHA-256."""

    id: str = Field(primary_key=True)  # a public handle, to list and revoke it by
    staff_id: str = Field(index=True)
    sha256: str = Field(unique=True)
    label: str
    created_at: datetime = _aware()
    expires_at: datetime | None = _aware(nullable=True)  # None: demo tokens (development)
    revoked_at: datetime | None = _aware(nullable=True)


class Transfer(SQLModel, table=True):
    """A transfer's current row, rewritten on every change (highest seq wins)."""

    # Work trays (api/store_queries.list_transfers): an authority's transfers in deadline
    # order, the overdue-flagged ones and the rest apart. Flagged rows are few; their
    # index also carries the teams, so PostgreSQL can count a team's overdue rows from
    # the index alone once the table is vacuumed.
    __table_args__ = (
        Index("ix_transfer_tray_flagged", "authority", "next_deadline_at", "transfer_id",
              postgresql_include=["from_team", "to_team", "responsible_team"],
              postgresql_where=text("overdue IS true"), sqlite_where=text("overdue IS 1")),
        Index("ix_transfer_tray_unflagged", "authority", "next_deadline_at", "transfer_id",
              postgresql_where=text("overdue IS false"), sqlite_where=text("overdue IS 0")),
        # The timeliness report (api/report): an authority's transfers by start.
        Index("ix_transfer_report", "authority", "started_at"),
    )

    run_id: str = Field(primary_key=True)
    transfer_id: str = Field(index=True)
    case_id: str = Field(index=True)
    authority: str
    pathway: str
    stage: str = Field(index=True)
    from_team: str
    to_team: str
    responsible_team: str = Field(index=True)
    next_deadline_at: datetime | None = _aware(nullable=True, index=True)
    overdue: bool = Field(default=False, index=True)
    started_at: datetime = _aware()
    updated_at: datetime = _aware()
    seq: int
    view: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # The report's facts from the view (models/report_facts), so it need not parse JSON.
    anchor_at: datetime | None = _aware(nullable=True)
    transferred_at: datetime | None = _aware(nullable=True)
    breached: str | None = None  # ids of deadlines missed or met late, space-separated
    transfer_late: bool = False  # one of them is a transfer deadline


class TransferEvent(SQLModel, table=True):
    """The audit trail: append-only, one row per change (who, what, when, why)."""

    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_event_run_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    transfer_id: str = Field(index=True)
    seq: int
    at: datetime = _aware()
    kind: str
    summary: str
    actor_id: str | None = None
    actor_role: str | None = None
    actor_team: str | None = None
    note_ref: str | None = None
    stage: str
    # The hash chain (models/audit_chain): the previous event's hash in this run (none for
    # the first) and this event's own, so an edit or a deletion shows.
    prev_hash: str | None = None
    hash: str


class Notification(SQLModel, table=True):
    """The outbox: one row per email, written with its event, delivered by the dispatcher."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # run_id:seq:staff_id, so a retried write adds nothing
    run_id: str = Field(index=True)
    seq: int
    transfer_id: str = Field(index=True)
    recipient_id: str = Field(index=True)
    recipient_role: str
    recipient_team: str
    email: str
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _aware()
    sent_at: datetime | None = _aware(nullable=True)
    attempts: int = 0
    last_error: str | None = None
    # Set when the retention schedule removed the body (ops/retention): the row stays, so
    # what was sent to whom, and when, is still known.
    body_purged_at: datetime | None = _aware(nullable=True)


class ActionNote(SQLModel, table=True):
    """Free text a manager gives with an action. It stays here: Temporal sees only the ref."""

    __table_args__ = (Index("ix_action_note_transfer", "transfer_id"),)

    ref: str = Field(primary_key=True)
    transfer_id: str
    staff_id: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _aware()


class StartKey(SQLModel, table=True):
    """An Idempotency-Key sent to start a transfer, and the case it was sent for.

    Registered before the start reaches Temporal. The key sent again for the same case
    goes on (Temporal answers a repeated start once); sent to start another case, it is
    refused. Keys are an authority's own: a transfer's id names its authority too.
    """

    authority: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    case_id: str
    transfer_id: str
    staff_id: str
    created_at: datetime = _aware()


class SubjectAccessExport(SQLModel, table=True):
    """Each subject access export: who asked, about whom, when, in which form, how much."""


    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _aware()
    staff_id: str
    authority: str
    subject_id: str = Field(index=True)
    format: str
    transfers: int
    events: int
    notifications: int


class TransferTeam(SQLModel, table=True):
    """Every team a transfer has involved, in any of its runs: sending, receiving,
    responsible, a party named at the start or by an action, a team a dispute redirected
    it to. Only ever added to (by the case store, with each change), so a team that once
    held a case can still read its history after a later run moved it elsewhere.

    The key leads with (authority, team): a team's transfer ids are one index range, for
    the work tray's need-to-know filter and for the check on a single transfer.
    """

    authority: str = Field(primary_key=True)
    team: str = Field(primary_key=True)
    transfer_id: str = Field(primary_key=True)


class ReadRecord(SQLModel, table=True):
    """Who read what, when: one row per read of a transfer, its trail (with its notes), a
    work tray or the notifications. Append-only; refused reads are kept too."""

    __table_args__ = (Index("ix_read_record_transfer", "transfer_id", "at"),
                      Index("ix_read_record_staff", "staff_id", "at"))


    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _aware()
    staff_id: str
    authority: str
    what: str  # transfer, events, action, tray, notifications
    transfer_id: str | None = None
    recipient: str | None = None  # whose mail was asked for (a staff id, or * for everyone's)
    refused: bool = False
