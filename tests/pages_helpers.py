"""Shared by the pages' tests: a transfer left overdue, as the README's tour starts one."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests import dates

SECRET = "a-test-secret-for-the-pages-session-cookie-000000"
CASE = "C100234"
TID = f"transfer-gateshead-{CASE}"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def follow_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages read the wall clock as the API does: follow a chosen today the same way."""
    if dates.chosen_today() is not None:
        monkeypatch.setattr("pages.routes.datetime", dates.ShiftedDatetime)


async def start_overdue(api: httpx.AsyncClient, ts_env: Any, case_id: str = CASE) -> None:
    """SGCP -> LAC started by the SGCP Team Manager three weeks ago: both deadlines missed."""
    now = await ts_env.get_current_time()
    started = await api.post(
        "/transfers", headers={"Authorization": "Bearer demo-gateshead-sgcp-tm",
                               "Idempotency-Key": f"start-{case_id}"},
        json={"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": case_id,
              "children": [case_id], "anchor_at": (now - timedelta(days=21)).isoformat()})
    assert started.status_code == 201, started.text


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)
