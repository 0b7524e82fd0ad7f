"""The directory's writes: import (upsert), leavers, services, the demo rows' removal.

Each function works in the caller's session and commits once, so a refusal leaves the
store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from models.tables import ApiToken, Staff
from ops.staff.rows import Refused, StaffRow, limit

SERVICE = "service"
PERSON = "person"
# Shown with their values: the rest (name, email, subject) are only said to have changed.
PLAIN = ("authority", "team", "role")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    inactive: list[str] = field(default_factory=list)  # in the file, but deactivated
    not_in_file: int = 0


def import_staff(session: Session, rows: list[StaffRow], source: str,
                 write: bool = True) -> ImportReport:
    """Add the file's people and update those already there; rows not in the file are
    left alone (a leaver is deactivated on purpose, never by omission from an export).
    With `write` false, the changes are worked out and reported, then rolled back."""
    everyone = {s.id: s for s in session.exec(select(Staff)).all()}
    in_file = {row.id for row in rows}
    by_lower = {staff_id.lower(): staff_id for staff_id in everyone}
    # Subjects held by rows the file does not touch: the file may move a subject between
    # its own rows, not take one from someone else.
    held = {s.idp_subject: s.id for s in everyone.values()
            if s.idp_subject is not None and s.id not in in_file}
    problems: list[str] = []
    for row in rows:
        where = f"{source}, line {row.line}"
        existing = everyone.get(row.id)
        twin = by_lower.get(row.id.lower())
        if existing is None and twin is not None:
            problems.append(f"{where}, column id: {row.id!r} differs only in case from "
                            f"{twin!r}, already in the directory")
        if existing is not None and existing.demo:
            problems.append(f"{where}, column id: {row.id} is a demo row; remove the demo "
                            "directory first (python -m ops.staff purge-demo)")
        if existing is not None and existing.kind == SERVICE:
            problems.append(f"{where}, column id: {row.id} is a service (a system), "
                            "not a person")
        if row.idp_subject is not None and row.idp_subject in held:
            problems.append(f"{where}, column idp_subject: already the subject of "
                            f"{held[row.idp_subject]}")
    if problems:
        raise Refused(limit(problems))

    report = ImportReport(not_in_file=sum(1 for staff_id, s in everyone.items()
                                          if staff_id not in in_file and s.kind == PERSON))
    moving = {row.id for row in rows
              if row.id in everyone and everyone[row.id].idp_subject != row.idp_subject}
    old_subjects = {staff_id: everyone[staff_id].idp_subject for staff_id in moving}
    for staff_id in moving:
        # Cleared first, so that subjects swapped between two rows never clash mid-way.
        everyone[staff_id].idp_subject = None
        session.add(everyone[staff_id])
    session.flush()
    for row in rows:
        staff = everyone.get(row.id)
        if staff is None:
            session.add(Staff(id=row.id, authority=row.authority, team=row.team, role=row.role,
                              display_name=row.display_name, email=row.email,
                              idp_subject=row.idp_subject, kind=PERSON))
            report.added.append(row.id)
            continue
        before = {"authority": staff.authority, "team": staff.team, "role": staff.role,
                  "name": staff.display_name, "email": staff.email}
        staff.authority, staff.team, staff.role = row.authority, row.team, row.role
        staff.display_name, staff.email = row.display_name, row.email
        after = {"authority": staff.authority, "team": staff.team, "role": staff.role,
                 "name": staff.display_name, "email": staff.email}
        changes = [f"{key} {before[key]} -> {after[key]}" if key in PLAIN else f"{key} changed"
                   for key in before if before[key] != after[key]]
        if row.id in moving:
            old = old_subjects[row.id]
            changes.append("idp_subject " + ("cleared" if row.idp_subject is None
                                             else "set" if old is None else "changed"))
            staff.idp_subject = row.idp_subject
        session.add(staff)
        if changes:
            report.changed.append((row.id, changes))
        else:
            report.unchanged.append(row.id)
        if not staff.active:
            report.inactive.append(row.id)
    if write:
        session.commit()
    else:
        session.flush()  # the database's own checks still run
        session.rollback()
    return report


def add_service(session: Session, *, staff_id: str, authority: str, team: str, role: str,
                name: str, email: str) -> None:
    """A system (the case management system) in the directory: it signs in with API
    tokens only, never through the identity provider."""
    if session.get(Staff, staff_id) is not None:
        raise Refused([f"{staff_id} is already in the directory"])
    session.add(Staff(id=staff_id, authority=authority, team=team, role=role,
                      display_name=name, email=email, idp_subject=None, kind=SERVICE))
    session.commit()


def deactivate(session: Session, staff_id: str, now: datetime) -> tuple[bool, int]:
    """A leaver: refused from the next request on, and every token of theirs revoked.
    Returns whether they were active, and how many tokens were revoked."""
    staff = _get(session, staff_id)
    was_active = staff.active
    staff.active = False
    session.add(staff)
    revoked = session.exec(
        update(ApiToken)
        .where(col(ApiToken.staff_id) == staff_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now))
    session.commit()
    return was_active, int(revoked.rowcount)


def reactivate(session: Session, staff_id: str) -> bool:
    """Returns whether they were inactive. Tokens revoked on leaving stay revoked."""
    staff = _get(session, staff_id)
    was_inactive = not staff.active
    staff.active = True
    session.add(staff)
    session.commit()
    return was_inactive


def purge_demo(session: Session) -> tuple[int, int]:
    """Delete the demo rows and their tokens (whose secrets are public); returns how many."""
    demo_ids = select(Staff.id).where(col(Staff.demo).is_(True))
    tokens = session.exec(delete(ApiToken).where(col(ApiToken.staff_id).in_(demo_ids)))
    staff = session.exec(delete(Staff).where(col(Staff.demo).is_(True)))
    session.commit()
    return int(staff.rowcount), int(tokens.rowcount)


def demo_count(session: Session) -> int:
    return int(session.exec(
        select(func.count()).select_from(Staff).where(col(Staff.demo).is_(True))).one())


@dataclass(frozen=True)
class Listed:
    staff: Staff
    live_tokens: int


def listing(session: Session, authority: str | None, now: datetime) -> list[Listed]:
    """The directory, with how many good (unrevoked, unexpired) tokens each holds."""
    live = (select(ApiToken.staff_id, func.count().label("n"))
            .where(col(ApiToken.revoked_at).is_(None),
                   col(ApiToken.expires_at).is_(None) | (col(ApiToken.expires_at) > now))
            .group_by(col(ApiToken.staff_id)).subquery())
    query = (select(Staff, func.coalesce(live.c.n, 0))
             .outerjoin(live, live.c.staff_id == col(Staff.id))
             .order_by(col(Staff.authority), col(Staff.id)))
    if authority is not None:
        query = query.where(Staff.authority == authority)
    return [Listed(staff, int(n)) for staff, n in session.exec(query).all()]


def _get(session: Session, staff_id: str) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise Refused([f"{staff_id} is not in the directory"])
    return staff
