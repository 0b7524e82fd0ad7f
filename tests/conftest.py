"""Shared test fixtures."""

from __future__ import annotations

import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy
from aiosmtpd.controller import Controller
from psycopg import sql
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.outbox import SmtpConfig
from config import ROOT, Settings
from database import make_engine, migrate
from models.external_addresses import load_external_addresses
from models.protocol_files import load_protocols
from ops.demo import seed_demo_directory
from temporal_setup import prepare_namespace, register_search_attributes
from tests import dates
from tests.converter import CONVERTER
from tests.identity_provider import idp  # noqa: F401 - a fixture for every test module
from tests.mail import Mailbox, free_port
from worker import ACTIVITY_THREADS, build_worker


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "time_skipping: runs on the time-skipping test server (ts_env): its dates "
        "follow CASEFLOW_TEST_TODAY (added to every test that uses ts_env)")
    try:
        chosen = dates.chosen_today()
    except dates.ChosenTodayError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if chosen is not None and chosen <= datetime.now(UTC):
        raise pytest.UsageError(
            f"{dates.TODAY_VARIABLE}={os.environ[dates.TODAY_VARIABLE]} is in the past "
            f"({chosen:%Y-%m-%d %H:%M} UTC): the time-skipping server's clock starts at the "
            "real time and only moves forward")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "ts_env" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.time_skipping)


# ---------------------------------------------------------------------------
# The case store: a migrated, empty database on SQLite or PostgreSQL.
# ---------------------------------------------------------------------------

# The councils' external parties' addresses, and the engine tests' own (testshire).
ADDRESSES = load_external_addresses(ROOT / "external-addresses.yaml").merged(
    load_external_addresses(Path(__file__).parent / "external-addresses.yaml"))

POSTGRES_ADMIN_URL = os.environ.get(
    "CASEFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _admin() -> psycopg.Connection:
    return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite file of its own."""
    url = f"sqlite:///{tmp_path / 'caseflow.db'}"
    migrate(url)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database of its own, dropped afterwards.

    Without a reachable server the test is skipped, except on CI (CI=true), where it fails.
    """
    try:
        admin = _admin()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"caseflow_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    url = f"{base}/{name}"
    try:
        migrate(url)
        yield url
    finally:
        with _admin() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs once on SQLite and once on PostgreSQL."""
    fixture = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}[request.param]
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def engine(store_url: str) -> Iterator[sqlalchemy.Engine]:
    engine = make_engine(store_url)
    yield engine
    engine.dispose()


# ---------------------------------------------------------------------------
# Temporal: a fresh time-skipping server per test (its clock only moves
# forward, and jumps by the execution timeout after a result), a worker with
# the real activities on a SQLite store, and a real SMTP server catching mail.
# ---------------------------------------------------------------------------


@pytest.fixture
async def ts_env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    """With CASEFLOW_TEST_TODAY set, the server's clock is moved to that instant before the
    test begins, and the in-process API's wall clock with it (tests.dates)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=CONVERTER,
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
    )
    try:
        await register_search_attributes(env.client)
        if await dates.start_at_chosen_today(env):
            monkeypatch.setattr("api.routes.transfers.datetime", dates.ShiftedDatetime)
        yield env
    finally:
        dates.set_clock_offset(timedelta(0))
        await env.shutdown()



@pytest.fixture
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI's dev server (visibility answers list queries; the time-skipping
    server does not), with the project's search attributes."""
    env = await WorkflowEnvironment.start_local(
        data_converter=CONVERTER,
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        dev_server_extra_args=["--dynamic-config-value",
                               "system.forceSearchAttributesCacheRefreshOnRead=true"],
    )
    await prepare_namespace(env.client, Settings(), protocols={})
    yield env
    await env.shutdown()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def directory_engine(sqlite_url: str) -> Iterator[sqlalchemy.Engine]:
    """A SQLite case store holding the demo directory of Gateshead staff."""
    engine = make_engine(sqlite_url)
    seed_demo_directory(engine, load_protocols(ROOT / "protocols"))
    yield engine
    engine.dispose()


@pytest.fixture
async def worker(ts_env: WorkflowEnvironment, directory_engine: sqlalchemy.Engine,
                 mailbox: Mailbox) -> AsyncIterator[Worker]:
    smtp = SmtpConfig(host="127.0.0.1", port=mailbox.port, username="", password="",
                      starttls=False, mail_from="case-transfers@test.example")
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        w = build_worker(ts_env.client, task_queue=f"tq-{uuid.uuid4()}",
                         engine=directory_engine, smtp=smtp, executor=executor,
                         addresses=ADDRESSES)
        async with w:
            yield w
