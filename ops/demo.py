"""The demo directory: for every authority with a protocol, staff in each role, with tokens.

Seeded by `make dev` (development only) and reused by the tests. Each team has a
Team Manager, a social worker and a Service Manager; each authority has two
Heads of Service (the weekly meeting's chair rotates between them), a Senior
Assistant Director, a Director and an IRO. Staff ids read
`<authority>-<team>-<tm|sw|sm>` or `<authority>-<hos-1|hos-2|sad|director|iro>`;
the token is `demo-` + the id. Tokens are stored hashed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.protocol import Protocol
from models.tables import Staff

TEAM_ROLES = [("tm", "team_manager", "Team Manager"), ("sw", "social_worker", "Social Worker"),
              ("sm", "service_manager", "Service Manager")]
AUTHORITY_ROLES = [("hos-1", "head_of_service", "Head of Service"),
                   ("hos-2", "head_of_service", "Head of Service"),
                   ("sad", "senior_assistant_director", "Senior Assistant Director"),
                   ("director", "director", "Director"),
                   ("iro", "iro", "Independent Reviewing Officer")]
AUTHORITY_TEAM = "authority"  # the 'team' of staff who serve the whole authority


@dataclass(frozen=True)
class DemoStaff:
    id: str
    authority: str
    team: str
    role: str
    display_name: str

    @property
    def token(self) -> str:
        return demo_token(self.id)

    @property
    def email(self) -> str:
        return f"{self.id}@{self.authority}.example"


def demo_token(staff_id: str) -> str:
    return f"demo-{staff_id}"


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def demo_staff(protocol: Protocol) -> list[DemoStaff]:
    a = protocol.authority
    people = [DemoStaff(f"{a}-{team}-{short}", a, team, role, f"{name}, {title}")
              for team, name in protocol.teams.items() for short, role, title in TEAM_ROLES]
    people += [DemoStaff(f"{a}-{short}", a, AUTHORITY_TEAM, role, title)
               for short, role, title in AUTHORITY_ROLES]
    return people


def seed_demo_directory(engine: Engine, protocols: dict[str, Protocol]) -> list[Staff]:
    """Insert or refresh the demo staff of every authority; safe to run on every start."""
    with Session(engine) as session:
        for protocol in protocols.values():
            for person in demo_staff(protocol):
                session.merge(Staff(
                    id=person.id, authority=person.authority, team=person.team,
                    role=person.role, display_name=person.display_name, email=person.email,
                    token_sha256=sha256(person.token)))
        session.commit()
        return list(session.exec(select(Staff)))
