"""Alembic environment for the case store.

The URL comes from the config's `sqlalchemy.url` (set by `database.migrate`), or
from the DATABASE_URL setting when alembic runs from the command line.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from database import make_engine

config = context.config

# Only the command line configures logging: called from the app or the tests,
# fileConfig would replace the process's own handlers.
if config.config_file_name is not None and config.cmd_opts is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or ""
    if not url:
        from config import get_settings

        url = get_settings().database_url
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write SQLModel's AutoString as plain sa.String(), so migrations need no sqlmodel."""
    if type_ == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    return False


def _configure(url: str, connection: Connection | None = None) -> None:
    context.configure(
        url=None if connection is not None else url,
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        render_item=_render_item,
        literal_binds=connection is None,
        dialect_opts={"paramstyle": "named"} if connection is None else {},
    )


def run_migrations_offline() -> None:
    _configure(_url())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    engine = make_engine(url)  # creates a SQLite file's folder; disposed below
    try:
        with engine.connect() as connection:
            _configure(url, connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
