"""The start-up check the API and the worker share: no demo staff in production.

Demo rows sign in with tokens printed in the README (`demo-<id>`), so a production
system that still holds one is open to anyone who has read it.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from config import Settings
from ops.staff.directory import demo_count

PURGE = "python -m ops.staff purge-demo"


class DemoStaffInProduction(RuntimeError):
    pass


def refuse_demo_staff(settings: Settings, engine: Engine) -> None:
    """Raise `DemoStaffInProduction` (saying how to remove them) if production holds demo rows."""
    if settings.environment != "production":
        return
    with Session(engine) as session:
        count = demo_count(session)
    if count:
        raise DemoStaffInProduction(
            f"Refusing to start in production: the staff directory holds {count} demo "
            f"row(s), whose tokens are public. Remove them with `{PURGE}` (with docker "
            f"compose: `docker compose run --rm migrate {PURGE}`), then start again.")
