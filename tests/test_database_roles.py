"""On PostgreSQL the app's role may append to the audit trail but never change or delete it.

A database of its own per test, owned by a fresh owner role that runs the migrations, and a
fresh app role that the app signs in as. Roles are cluster-wide: each test makes its own,
with a unique name, and drops them afterwards. A missing server fails these tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlmodel import Session, SQLModel

import models.tables  # noqa: F401  (registers every table)
from activities.case_store import CaseStoreActivities
from api import store_queries as q
from database import APP_PRIVILEGES, make_engine, migrate
from models.tables import Staff
from ops import audit
from tests.conftest import POSTGRES_ADMIN_URL
from tests.test_case_store import change, started_notices


@dataclass
class Roles:
    owner: str
    app: str
    owner_url: str
    app_url: str


def _url(role: str, database: str) -> str:
    server = POSTGRES_ADMIN_URL.split("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{role}@{server}/{database}"


@pytest.fixture
def roles() -> Iterator[Roles]:
    suffix = secrets.token_hex(5)
    owner, app, name = f"cf_owner_{suffix}", f"cf_app_{suffix}", f"caseflow_roles_{suffix}"
    admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    try:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(app)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(owner)))
        found = Roles(owner, app, _url(owner, name), _url(app, name))
        migrate(found.owner_url, app_role=app)
        yield found
    finally:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        for role in (app, owner):
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.close()


@pytest.fixture
def app_engine(roles: Roles) -> Iterator[sqlalchemy.Engine]:
    engine = make_engine(roles.app_url)
    yield engine
    engine.dispose()


@pytest.fixture
def owner_engine(roles: Roles) -> Iterator[sqlalchemy.Engine]:
    engine = make_engine(roles.owner_url)
    with Session(engine) as session:  # the directory is the owner's to write
        session.add_all(Staff(id=sid, authority="gateshead", team=team, role=role,
                              display_name=sid, email=f"{sid}@council.example")
                        for sid, team, role in (("sm-sgcp", "sgcp", "service_manager"),
                                                ("tm-lac", "lac", "team_manager")))
        session.commit()
    yield engine
    engine.dispose()


def refused(engine: sqlalchemy.Engine, statement: str) -> str:
    with pytest.raises(ProgrammingError) as caught, engine.begin() as conn:
        conn.execute(text(statement))
    assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege), caught.value
    return str(caught.value.orig)


def test_every_table_has_its_privileges_listed() -> None:
    assert set(APP_PRIVILEGES) == set(SQLModel.metadata.tables)


def test_the_app_writes_transfers_but_cannot_change_or_delete_the_trail(
        owner_engine: sqlalchemy.Engine, app_engine: sqlalchemy.Engine,
        capsys: pytest.CaptureFixture[str]) -> None:
    store = CaseStoreActivities(app_engine)
    store.record_change(change(1, notices=started_notices()))
    store.record_change(change(2))
    with app_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM transferevent")).scalar() == 2
        assert conn.execute(text("SELECT seq FROM transfer")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM notification")).scalar() == 2

    assert "permission denied for table transferevent" in refused(
        app_engine, "UPDATE transferevent SET summary = 'nothing happened' WHERE seq = 1")
    refused(app_engine, "DELETE FROM transferevent WHERE seq = 1")
    refused(app_engine, "TRUNCATE transferevent")
    refused(app_engine, "DELETE FROM subjectaccessexport")
    # A sent email's delivery state is the app's to record; what it said is not.
    refused(app_engine, "UPDATE notification SET body = 'something else'")
    with app_engine.begin() as conn:
        conn.execute(text("UPDATE notification SET sent_at = now(), attempts = attempts + 1"))
    # Nor may it change the schema, or the directory.
    with pytest.raises(ProgrammingError), app_engine.begin() as conn:
        conn.execute(text("ALTER TABLE transferevent DROP COLUMN hash"))
    refused(app_engine, "UPDATE staff SET role = 'director'")

    # The owner could (which is what the hash chain is for), and verify sees it.
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE transferevent SET summary = 'nothing happened' "
                          "WHERE seq = 1"))
    assert audit.run(["verify"], app_engine) == 1
    out = capsys.readouterr().out
    assert "TR-1 (run run-1) seq 1: its content was changed" in out
    assert "may UPDATE" not in out
    assert audit.run(["verify"], owner_engine) == 1
    assert "the role signed in may UPDATE, DELETE, TRUNCATE the trail" in (
        capsys.readouterr().out)


def test_the_app_keeps_notes_and_releases_only_start_keys(
        owner_engine: sqlalchemy.Engine, app_engine: sqlalchemy.Engine) -> None:
    now = datetime(2027, 6, 7, 9, tzinfo=UTC)
    with Session(app_engine) as session:
        assert q.save_note(session, ref="n1", transfer_id="TR-1", staff_id="sm-sgcp",
                           text="why", now=now)
        assert q.notes_for(session, ["n1"]) == {"n1": "why"}
        # Notes are never taken back by the app: only the owner's retention purge may.
        with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
            session.execute(sqlalchemy.text("DELETE FROM actionnote"))
        session.rollback()
        assert q.register_start_key(session, authority="gateshead", key="k1", case_id="C1",
                                    transfer_id="transfer-gateshead-C1", staff_id="sm-sgcp",
                                    now=now) is None
        q.release_start_key(session, authority="gateshead", key="k1", case_id="C1")


def test_migrating_again_grants_exactly_the_listed_privileges(
        roles: Roles, owner_engine: sqlalchemy.Engine) -> None:
    with owner_engine.begin() as conn:  # granted by hand, then migrated again
        conn.execute(text(f'GRANT ALL ON transferevent TO "{roles.app}"'))
    migrate(roles.owner_url, app_role=roles.app)
    with owner_engine.connect() as conn:
        granted = conn.execute(text(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = :role"), {"role": roles.app}).all()
        columns = conn.execute(text(
            "SELECT column_name FROM information_schema.column_privileges "
            "WHERE grantee = :role AND table_name = 'notification' "
            "AND privilege_type = 'UPDATE'"), {"role": roles.app}).scalars().all()
    tables: dict[str, set[str]] = {}
    for table, privilege in granted:
        tables.setdefault(table, set()).add(privilege)
    assert tables == {
        "staff": {"SELECT"}, "apitoken": {"SELECT"},
        "transfer": {"SELECT", "INSERT", "UPDATE"},
        "transferevent": {"SELECT", "INSERT"},
        "notification": {"SELECT", "INSERT"},
        "actionnote": {"SELECT", "INSERT"},
        "startkey": {"SELECT", "INSERT", "DELETE"},
        "subjectaccessexport": {"SELECT", "INSERT"},
        "transferteam": {"SELECT", "INSERT"}, "readrecord": {"SELECT", "INSERT"},
    }
    assert sorted(columns) == ["attempts", "last_error", "sent_at"]
