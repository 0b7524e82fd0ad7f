"""The demo directory: Gateshead teams and managers, each with a known API token.

Seeded by `make dev` (development only) and reused by the tests. Tokens are
stored hashed; the plain demo tokens are printed for the person trying it out.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.tables import Staff

# (staff id = demo token suffix, team, role, display name)
DEMO_STAFF = [
    ("sgcp-tm", "sgcp", "team_manager", "SGCP Team Manager"),
    ("sgcp-sw", "sgcp", "social_worker", "SGCP Social Worker"),
    ("sgcp-sm", "sgcp", "service_manager", "SGCP Service Manager"),
    ("lac-tm", "lac", "team_manager", "LAC Team Manager"),
    ("lac-sw", "lac", "social_worker", "LAC Social Worker"),
    ("lac-sm", "lac", "service_manager", "LAC Service Manager"),
]
AUTHORITY = "gateshead"


def demo_token(staff_id: str) -> str:
    return f"demo-{staff_id}"


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def seed_demo_directory(engine: Engine) -> list[Staff]:
    """Insert or refresh the demo staff; safe to run on every start."""
    with Session(engine) as session:
        for staff_id, team, role, name in DEMO_STAFF:
            session.merge(Staff(
                id=staff_id, authority=AUTHORITY, team=team, role=role, display_name=name,
                email=f"{staff_id}@{AUTHORITY}.example", token_sha256=sha256(demo_token(staff_id)),
            ))
        session.commit()
        return list(session.exec(select(Staff)))
