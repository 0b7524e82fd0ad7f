"""The demo directory: for every authority with a protocol, staff in each role, with tokens.

Seeded by `make dev` (development only) and reused by the tests. Each team has a
Team Manager, a social worker, a Service Manager, a Senior Practitioner, an
Advanced Practitioner and a Personal Advisor; each authority has two Heads of
Service (the weekly meeting's chair rotates between them), a Senior Assistant
Director, a Director, an IRO, Legal Services, a Designated Administrator,
Business Support and a panel Chair; each service a protocol names has its own
Head of Service. Staff ids read `<authority>-<team>-<tm|sw|sm|sp|ap|pa>`,
`<authority>-<service>-hos` or
`<authority>-<hos-1|hos-2|sad|director|iro|legal|da|bs|chair>`; the token is
`demo-` + the id. Tokens are stored hashed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from api.need_to_know import AUTHORITY_TEAM as AUTHORITY_TEAM  # one definition, re-exported
from models.protocol import Protocol
from models.tables import ApiToken, Staff

TEAM_ROLES = [("tm", "team_manager", "Team Manager"), ("sw", "social_worker", "Social Worker"),
              ("sm", "service_manager", "Service Manager"),
              ("sp", "senior_practitioner", "Senior Practitioner"),
              ("ap", "advanced_practitioner", "Advanced Practitioner"),
              ("pa", "personal_advisor", "Personal Advisor")]
AUTHORITY_ROLES = [("hos-1", "head_of_service", "Head of Service"),
                   ("hos-2", "head_of_service", "Head of Service"),
                   ("sad", "senior_assistant_director", "Senior Assistant Director"),
                   ("director", "director", "Director"),
                   ("iro", "iro", "Independent Reviewing Officer"),
                   ("legal", "legal_services", "Legal Services"),
                   ("da", "designated_administrator", "Designated Administrator"),
                   ("bs", "business_support", "Business Support"),
                   ("chair", "chair", "Chair of the transfer panel")]
SERVICE_ROLES = [("hos", "head_of_service", "Head of Service")]


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
    # Where the protocol groups teams into services, each service has its own Head of Service
    # (listed under the service), who holds the role for each of its teams.
    people += [DemoStaff(f"{a}-{service}-{short}", a, service, role,
                         f"{spec.title}, {title}")
               for service, spec in protocol.services.items()
               for short, role, title in SERVICE_ROLES]
    return people


def seed_demo_directory(engine: Engine, protocols: dict[str, Protocol]) -> list[Staff]:
    """Insert or refresh the demo staff of every authority, each with its demo token and
    signing in through the local identity provider as `sub` = its id; safe to run on
    every start. Development only: production refuses to start while a demo row exists."""
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(engine) as session:
        for protocol in protocols.values():
            for person in demo_staff(protocol):
                session.merge(Staff(
                    id=person.id, authority=person.authority, team=person.team,
                    role=person.role, display_name=person.display_name, email=person.email,
                    idp_subject=person.id, demo=True))
                session.merge(ApiToken(id=f"demo-{person.id}", staff_id=person.id,
                                       sha256=sha256(person.token), label="demo token",
                                       created_at=epoch))
        session.commit()
        return list(session.exec(select(Staff)))
