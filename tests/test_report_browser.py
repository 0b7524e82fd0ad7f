"""The timeliness report page in a real browser (Debian's chromium, Playwright): signed in
as the director, the charts (SVG images) load under the self-only CSP, the CSV downloads and
its numbers agree with the store counted again from the raw rows; axe-core finds no serious
or critical violations; a screenshot, the README's report (docs/screenshots with
SCREENSHOTS=docs): its seeded store shows more than the real stack's two transfers."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy
from sqlmodel import Session, select

from config import Settings
from models.tables import Transfer, TransferEvent
from tests.browser import (
    chromium,
    drawn_images,
    needs_chromium,
    new_page,
    no_serious_violations,
    policy_errors,
    screenshot,
)
from tests.mail import free_port
from tests.pages_helpers import SECRET
from tests.serving import serving, store_only_app
from tests.test_case_store import LONDON
from tests.test_report import held

__all__ = ["held"]  # the fixture, shared with tests/test_report
pytestmark = needs_chromium


@asynccontextmanager
async def served(engine: sqlalchemy.Engine) -> AsyncIterator[str]:
    """The app over HTTP on a free port; the report needs no Temporal."""
    app = store_only_app(engine, Settings(pages_session_secret=SECRET))
    port = free_port()
    async with serving(app, port, lifespan="on") as base:
        yield base


def from_the_store(engine: sqlalchemy.Engine, month: str) -> dict[str, int]:
    """Decided, within timescale and disputes of a London month, from the raw rows."""
    with Session(engine) as session:
        rows = session.exec(select(Transfer).where(Transfer.authority == "gateshead")).all()
        kinds = session.exec(select(TransferEvent.run_id, TransferEvent.kind)).all()

    def london(moment: datetime) -> str:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(LONDON).strftime("%Y-%m")

    mine = [t for t in rows if london(t.started_at) == month]
    out = {"transfers": len(mine), "decided": 0, "within_timescale": 0}
    for t in mine:
        late = any(d["status"] in ("missed", "met_late") for d in t.view["deadlines"]
                   if d["met_when"] == "transferred")
        done = t.view["transferred_at"] is not None
        out["decided"] += late or done
        out["within_timescale"] += done and not late
    runs = {t.run_id for t in mine}
    out["disputes"] = sum(run in runs for run, kind in kinds if kind == "disputed")
    return out


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_the_report_page_in_a_browser(held: sqlalchemy.Engine, tmp_path: Any) -> None:
    async with served(held) as base, chromium() as browser:
        page = await new_page(browser, base, accept_downloads=True)
        await page.goto(f"{base}/pages/sign-in?authority=gateshead")
        await page.check("#staff-gateshead-director")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Sign in").click()

        await page.get_by_role("link", name="Timeliness report").click()
        await page.fill("#from", "2027-05")
        await page.fill("#to", "2027-06")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Show the report").click()
        charts = await drawn_images(page, "img.app-chart")
        assert len(charts) == 6
        assert all(c["width"] > 0 and c["shown"] > 300 and c["alt"] for c in charts), charts
        await no_serious_violations(page)
        await screenshot(page, "report")  # the README's: a richer store than the stack's

        async with page.expect_download() as info:
            await page.get_by_role("link", name="Download CSV").click()
        download = await info.value
        assert download.suggested_filename == \
            "timeliness-gateshead-2027-05-to-2027-06.csv"
        path = tmp_path / "report.csv"
        await download.save_as(path)
        with path.open() as f:
            rows = list(csv.DictReader(f))
        for month in ("2027-05", "2027-06"):
            got = [r for r in rows if r["month"] == month]
            counted = {k: sum(int(r[k]) for r in got)
                       for k in ("transfers", "decided", "within_timescale", "disputes")}
            assert counted == from_the_store(held, month), month
        assert policy_errors(page) == []
