"""The case store's engine and schema migrations (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from psycopg import sql
from sqlalchemy import Engine, event
from sqlmodel import create_engine

from config import ROOT


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            # The API and the worker write from separate processes: WAL lets readers go on.
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


# What the app's role may do to each table, and no more. The audit trail (transferevent)
# and the export records are append-only; DELETE only where the app takes back what a
# refused request itself stored (a note, a start key). Every table must be listed: a new
# table without an entry fails tests/test_database_roles.py.
APP_PRIVILEGES: dict[str, tuple[str, ...]] = {
    # the directory is written by ops.staff, run as the owner; the API only reads it
    "staff": ("SELECT",),
    "apitoken": ("SELECT",),
    "transfer": ("SELECT", "INSERT", "UPDATE"),
    "transferevent": ("SELECT", "INSERT"),
    # delivery state only: a sent email's recipient, subject and body stay as written
    "notification": ("SELECT", "INSERT", "UPDATE (sent_at, attempts, last_error)"),
    # notes are never taken back by the API: a refused action's note is the retention
    # schedule's (run as the owner) to purge
    "actionnote": ("SELECT", "INSERT"),
    "startkey": ("SELECT", "INSERT", "DELETE"),
    "subjectaccessexport": ("SELECT", "INSERT"),
    # need to know: the teams a transfer has involved (only ever added to), and who read what
    "transferteam": ("SELECT", "INSERT"),
    "readrecord": ("SELECT", "INSERT"),
}


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def migrate(url: str, app_role: str | None = None) -> None:
    """Bring the schema up to date (`alembic upgrade head`), connected as the schema's owner,
    then (on PostgreSQL, given the app's role) grant that role what APP_PRIVILEGES says."""
    command.upgrade(alembic_config(url), "head")
    if app_role and not url.startswith("sqlite"):
        engine = make_engine(url)
        try:
            grant_app_privileges(engine, app_role)
        finally:
            engine.dispose()


def grant_app_privileges(engine: Engine, role: str) -> None:
    """Set the app role's privileges to exactly APP_PRIVILEGES (again after each migration:
    revoking first takes back anything granted by hand or by an older version)."""
    who = sql.Identifier(role)
    statements = [sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who)]
    for table, privileges in APP_PRIVILEGES.items():
        name = sql.Identifier(table)
        statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(name, who))
        statements.append(sql.SQL("GRANT {} ON {} TO {}").format(
            sql.SQL(", ").join(sql.SQL(p) for p in privileges), name, who))
    # ids of inserted rows (nextval); SELECT on a sequence would only let it be read
    statements.append(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}")
                      .format(who))
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for statement in statements:
            conn.exec_driver_sql(statement.as_string(raw))  # type: ignore[arg-type]
