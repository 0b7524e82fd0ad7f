"""Migration 0007: the report's columns filled from the views of rows written before it."""

from __future__ import annotations

import httpx
import sqlalchemy
from alembic import command
from sqlmodel import Session, select

from database import alembic_config
from models.tables import Transfer
from tests.test_report import api, held, report

__all__ = ["api", "held"]  # fixtures, shared with tests/test_report


async def test_the_migration_fills_the_report_columns_alike(
        api: httpx.AsyncClient, held: sqlalchemy.Engine, store_url: str) -> None:
    """Rows written before 0007 get the same report from the columns it fills from views."""
    before = await report(api)
    held.dispose()
    command.downgrade(alembic_config(store_url), "0006")
    command.upgrade(alembic_config(store_url), "head")
    with Session(held) as session:
        breached = dict(session.exec(select(Transfer.run_id, Transfer.breached)).all())
    assert breached["run-B"] == "transfer_by allocate_by" and breached["run-A"] is None
    assert await report(api) == before
