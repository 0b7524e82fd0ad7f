"""Everything the case store holds about a case or a child, for a subject access request.

A subject is matched as a case id or as one of a transfer's children, within one
authority: every run of each matching transfer, its trail (with the hash chain), the notes
written with its actions, the emails about it (its own, and weekly-meeting agendas that
list it) and the start keys sent for it. Kept apart from the work-tray queries: this reads
whole tables' worth of one subject's rows, rarely, and is recorded each time.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, Text, cast, or_, select
from sqlmodel import Session

from models.tables import (
    ActionNote,
    Notification,
    StartKey,
    SubjectAccessExport,
    Transfer,
    TransferEvent,
)

CURRENT: Table = Transfer.__table__  # type: ignore[attr-defined]
EVENTS: Table = TransferEvent.__table__  # type: ignore[attr-defined]
NOTES: Table = ActionNote.__table__  # type: ignore[attr-defined]
OUTBOX: Table = Notification.__table__  # type: ignore[attr-defined]
KEYS: Table = StartKey.__table__  # type: ignore[attr-defined]
EXPORTS: Table = SubjectAccessExport.__table__  # type: ignore[attr-defined]

PARTS = ("transfers", "events", "notes", "notifications", "start_keys")
Row = dict[str, Any]


@dataclass
class Holding:
    """One subject's rows, part by part (each a list of plain column: value rows)."""

    subject_id: str
    authority: str
    parts: dict[str, list[Row]]

    def counts(self) -> dict[str, int]:
        return {part: len(rows) for part, rows in self.parts.items()}


def _rows(session: Session, query: Any) -> list[Row]:
    return [_plain(dict(r)) for r in session.connection().execute(query).mappings()]


def _plain(row: Row) -> Row:
    """Times as ISO 8601 UTC (SQLite returns them without an offset)."""
    for name, value in row.items():
        if isinstance(value, datetime):
            utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            row[name] = utc.isoformat()
    return row


def _mentions(text: str, ids: Iterable[str]) -> bool:
    """Whether `text` names one of `ids` as a whole identifier (C1 is not C10)."""
    return any(re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text) for i in ids)


def collect(session: Session, authority: str, subject_id: str) -> Holding:
    """Every row held about `subject_id` (a case id or a child id) in `authority`."""
    quoted = json.dumps(subject_id)  # as it appears in a view's children list
    candidates = _rows(session, select(CURRENT).where(
        CURRENT.c.authority == authority,
        or_(CURRENT.c.case_id == subject_id,
            cast(CURRENT.c.view, Text).contains(quoted, autoescape=True)))
        .order_by(CURRENT.c.transfer_id, CURRENT.c.started_at))
    transfers = [t for t in candidates if t["case_id"] == subject_id
                 or subject_id in _view(t).get("children", [])]
    transfer_ids = sorted({t["transfer_id"] for t in transfers})
    run_ids = [t["run_id"] for t in transfers]

    events = _rows(session, select(EVENTS).where(EVENTS.c.run_id.in_(run_ids))
                   .order_by(EVENTS.c.transfer_id, EVENTS.c.run_id, EVENTS.c.id)) \
        if run_ids else []
    notes = _rows(session, select(NOTES).where(NOTES.c.transfer_id.in_(transfer_ids))
                  .order_by(NOTES.c.transfer_id, NOTES.c.created_at)) if transfer_ids else []
    own = _rows(session, select(OUTBOX).where(OUTBOX.c.transfer_id.in_(transfer_ids))
                .order_by(OUTBOX.c.id)) if transfer_ids else []
    agendas = [n for n in _rows(session, select(OUTBOX).where(
        OUTBOX.c.transfer_id.startswith(f"meeting-{authority}-", autoescape=True),
        or_(*(OUTBOX.c.body.contains(t, autoescape=True) for t in transfer_ids)))
        .order_by(OUTBOX.c.id)) if _mentions(n["body"], transfer_ids)] if transfer_ids else []
    keys = _rows(session, select(KEYS).where(
        KEYS.c.authority == authority,
        or_(KEYS.c.case_id == subject_id, KEYS.c.transfer_id.in_(transfer_ids)))
        .order_by(KEYS.c.created_at))
    for t in transfers:
        t["view"] = _view(t)
    return Holding(subject_id, authority, {
        "transfers": transfers, "events": events, "notes": notes,
        "notifications": own + agendas, "start_keys": keys})


def _view(row: Row) -> dict[str, Any]:
    view = row["view"]
    parsed: dict[str, Any] = json.loads(view) if isinstance(view, str) else view
    return parsed


def record(session: Session, holding: Holding, *, staff_id: str, form: str,
           now: datetime) -> int:
    """Record (and commit) that this export was made: by whom, about whom, when, how much."""
    counts = holding.counts()
    export_id = session.connection().execute(EXPORTS.insert().values(
        at=now.astimezone(UTC), staff_id=staff_id, authority=holding.authority,
        subject_id=holding.subject_id, format=form, transfers=counts["transfers"],
        events=counts["events"], notifications=counts["notifications"],
    ).returning(EXPORTS.c.id)).scalar_one()
    session.commit()
    return int(export_id)


def as_json(holding: Holding, header: Row) -> bytes:
    return json.dumps(header | holding.parts, ensure_ascii=False, indent=1).encode("utf-8")


def as_zip(holding: Holding, header: Row) -> bytes:
    """One CSV per part (with a header row even when empty), and the export's own details."""
    columns: dict[str, Sequence[str]] = {
        "transfers": list(CURRENT.c.keys()), "events": list(EVENTS.c.keys()),
        "notes": list(NOTES.c.keys()), "notifications": list(OUTBOX.c.keys()),
        "start_keys": list(KEYS.c.keys())}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", json.dumps(header, indent=1))
        for part in PARTS:
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=columns[part], lineterminator="\r\n")
            writer.writeheader()
            for row in holding.parts[part]:
                writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v
                                 for k, v in row.items()})
            archive.writestr(f"{part}.csv", text.getvalue())
    return buffer.getvalue()
