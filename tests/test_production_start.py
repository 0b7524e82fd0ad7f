"""Production refuses to start (the API and the worker) while the directory holds demo staff,
whose tokens anyone who has read the README knows."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
from sqlmodel import Session

import worker
from api.main import create_app
from config import ROOT, Settings, get_settings
from database import make_engine
from models.protocol_files import load_protocols
from models.tables import Staff
from ops.demo import seed_demo_directory
from ops.staff.directory import purge_demo
from ops.staff.guard import DemoStaffInProduction, refuse_demo_staff

# What else production asks of its settings, answered for a test on one machine.
PRODUCTION = {"TEMPORAL_INSECURE_OK": "true", "SMTP_INSECURE_OK": "true",
              "PAYLOAD_KEYS": "k1:" + base64.b64encode(bytes(range(32))).decode(),
              "PAGES_ENABLED": "false"}  # the pages' production settings: test_pages_session


@pytest.fixture
def production(postgres_url: str, monkeypatch: pytest.MonkeyPatch
               ) -> Iterator[sqlalchemy.Engine]:
    """Production settings (which need PostgreSQL) on a store holding the demo directory."""
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    engine = make_engine(postgres_url)
    seed_demo_directory(engine, load_protocols(ROOT / "protocols"))

    async def no_temporal(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("refused too late: it went on to connect to Temporal")

    monkeypatch.setattr("api.main.connect", no_temporal)
    monkeypatch.setattr("worker.connect", no_temporal)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def test_the_check_refuses_demo_rows_in_production_only(production: sqlalchemy.Engine) -> None:
    settings = get_settings()
    with pytest.raises(DemoStaffInProduction) as refused:
        refuse_demo_staff(settings, production)
    message = str(refused.value)
    assert "Refusing to start in production" in message
    assert "python -m ops.staff purge-demo" in message
    assert "docker compose run --rm migrate python -m ops.staff purge-demo" in message

    refuse_demo_staff(settings.model_copy(update={"environment": "development"}), production)
    with Session(production) as session:
        staff, tokens = purge_demo(session)
        assert staff > 0 and tokens == staff
        session.add(Staff(id="gateshead-ann", authority="gateshead", team="sgcp",
                          role="team_manager", display_name="A", email="a@gateshead.example"))
        session.commit()
    refuse_demo_staff(settings, production)  # real staff only: it may start


async def test_the_api_refuses_to_start(production: sqlalchemy.Engine) -> None:
    app = create_app()
    with pytest.raises(DemoStaffInProduction, match="purge-demo"):
        async with app.router.lifespan_context(app):
            pass


async def test_the_worker_refuses_to_start(production: sqlalchemy.Engine) -> None:
    with pytest.raises(DemoStaffInProduction, match="purge-demo"):
        await worker.main()


def test_the_worker_process_says_why_without_a_traceback(production: sqlalchemy.Engine,
                                                         postgres_url: str) -> None:
    env = {**os.environ, **PRODUCTION, "ENVIRONMENT": "production", "DATABASE_URL": postgres_url}
    done = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "Refusing to start in production" in done.stderr
    assert "Traceback" not in done.stderr


def test_development_settings_never_refuse(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    seed_demo_directory(engine, load_protocols(ROOT / "protocols"))
    refuse_demo_staff(Settings(database_url=sqlite_url, environment="development"), engine)
    engine.dispose()
