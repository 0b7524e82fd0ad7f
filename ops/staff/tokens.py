"""API tokens: issued with an expiry, shown once, kept as their SHA-256, revoked by handle."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from api.store_queries import aware
from models.tables import ApiToken, Staff
from ops.staff.rows import Refused

# Recognisable in a leaked log or a secret scanner's rules, and never mistaken for a handle.
PREFIX = "cft_"
HANDLE_PREFIX = "tok-"
MAX_DAYS = 366
MAX_LABEL = 100


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str


def issue(session: Session, staff_id: str, *, label: str, days: int, now: datetime) -> Issued:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise Refused([f"{staff_id} is not in the directory"])
    problems = []
    if not staff.active:
        problems.append(f"{staff_id} has been deactivated; reactivate them first")
    if staff.demo:
        problems.append(f"{staff_id} is a demo row: it has its demo token already")
    if not 1 <= days <= MAX_DAYS:
        problems.append(f"--days: {days} is not between 1 and {MAX_DAYS}")
    label = label.strip()
    if not label or len(label) > MAX_LABEL or not label.isprintable():
        problems.append(f"--label: say what the token is for, in up to {MAX_LABEL} "
                        "printable characters")
    if problems:
        raise Refused(problems)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(id=HANDLE_PREFIX + secrets.token_hex(6), staff_id=staff_id,
                     sha256=hashlib.sha256(secret.encode()).hexdigest(), label=label,
                     created_at=now, expires_at=now + timedelta(days=days))
    session.add(token)
    session.commit()
    session.refresh(token)
    return Issued(token, secret)


def tokens(session: Session, staff_id: str | None) -> list[ApiToken]:
    query = select(ApiToken).order_by(col(ApiToken.staff_id), col(ApiToken.created_at))
    if staff_id is not None:
        if session.get(Staff, staff_id) is None:
            raise Refused([f"{staff_id} is not in the directory"])
        query = query.where(ApiToken.staff_id == staff_id)
    return list(session.exec(query).all())


def status(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return f"revoked {aware(token.revoked_at):%Y-%m-%d %H:%M}Z"
    if token.expires_at is None:
        return "no expiry"
    expires = aware(token.expires_at)
    return f"{'expired' if expires <= now else 'expires'} {expires:%Y-%m-%d %H:%M}Z"


def revoke(session: Session, handle: str, now: datetime) -> bool:
    """Returns False if it was revoked already."""
    token = session.get(ApiToken, handle)
    if token is None:
        raise Refused([f"no token {handle!r} (see: python -m ops.staff token list)"])
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    session.add(token)
    session.commit()
    return True
