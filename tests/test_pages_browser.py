"""The managers' pages in a real browser: Debian's chromium driven by Playwright, against
the app served by uvicorn (on this test's event loop, so that it shares the time-skipping
Temporal client) on a free port.

Sign in through the chooser by keyboard, find the overdue transfer in the tray, open it,
see its deadlines and trail; another team's manager sees it neither in the tray nor by its
address; sign out; a POST without the CSRF token is refused; axe-core finds no serious or
critical violations. Screenshots of the tray and the transfer are taken on every run; with
SCREENSHOTS=docs they go to docs/screenshots/ (for the README), otherwise to the test's
temporary folder, so that `make test` leaves the working tree as it found it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from api.deps import AppState
from api.main import create_app
from config import ROOT, Settings
from models.protocol_files import load_protocols
from tests.mail import free_port
from tests.pages_helpers import CASE, SECRET, TID, follow_the_clock, start_overdue
from tests.serving import serving

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# axe-core is served to the browser at this same-origin address by the test alone (a
# Playwright route), so the pages' self-only script policy stays in force while it runs.
AXE_URL = "/pages/static/__test-axe.js"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists() or not AXE.exists(),
                                reason="needs Debian's chromium and `npm ci --prefix web` "
                                       "(`make test` installs both)")


@asynccontextmanager
async def served(engine: Any, env: Any, worker: Any) -> AsyncIterator[str]:
    """The app over real HTTP on a free port, on this event loop; its base address."""
    settings = Settings(temporal_task_queue=worker.task_queue, pages_session_secret=SECRET)
    app = create_app(AppState(settings=settings, engine=engine, temporal=env.client,
                              protocols=load_protocols(settings.protocols_dir)))
    port = free_port()
    async with serving(app, port, lifespan="on") as base:
        yield base


async def no_serious_violations(page: Page) -> None:
    await page.add_script_tag(url=AXE_URL)
    violations = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


async def drawn_images(page: Page, selector: str) -> list[dict[str, Any]]:
    """Each image's loaded width and alt text: a width of 0 is a picture that never drew
    (a data: image the policy refused, or an SVG the browser could not read)."""
    await page.wait_for_load_state("load")
    found: list[dict[str, Any]] = await page.eval_on_selector_all(
        selector, "els => els.map(e => ({width: e.complete ? e.naturalWidth : 0, "
                  "alt: e.alt, shown: e.getBoundingClientRect().width}))")
    return found


async def sign_in_by_keyboard(page: Page, base: str, staff_id: str) -> None:
    """Tab to the chooser's radios, arrow to the person, Tab to the button, Enter."""
    await page.goto(f"{base}/pages/sign-in?authority=gateshead")
    for _ in range(60):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == "staff_id":
            break
    else:
        raise AssertionError("Tab never reached the chooser")
    await page.keyboard.press("Space")  # a group entered unchecked: check the first
    for _ in range(400):
        if await page.evaluate("document.activeElement.value") == staff_id:
            break
        await page.keyboard.press("ArrowDown")
    assert await page.is_checked(f"#staff-{staff_id}")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent.trim()") == "Sign in"
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def until_listed(page: Page, base: str, case_id: str) -> None:
    """The tray once the worker has stored the transfer (an activity writes it)."""
    for _ in range(100):
        await page.goto(f"{base}/pages/tray")
        if await page.get_by_role("link", name=case_id).count():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{case_id} never reached the tray")


async def test_a_manager_works_the_tray_in_a_browser(ts_env, worker, directory_engine,
                                                     monkeypatch, tmp_path):
    follow_the_clock(monkeypatch)
    shots = DOCS_SCREENSHOTS if os.environ.get("SCREENSHOTS") == "docs" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    async with served(directory_engine, ts_env, worker) as base, async_playwright() as pw:
        async with httpx.AsyncClient(base_url=base, timeout=60) as api:
            await start_overdue(api, ts_env)
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.route(f"{base}{AXE_URL}", lambda route: route.fulfill(
                path=AXE, content_type="text/javascript"))
            page = await context.new_page()
            policy_errors: list[str] = []
            page.on("console", lambda m: policy_errors.append(m.text)
                    if "Content Security Policy" in m.text else None)

            await sign_in_by_keyboard(page, base, "gateshead-lac-tm")
            assert page.url == f"{base}/pages/tray"
            await until_listed(page, base, CASE)
            # GOV.UK Frontend's script ran (a file, under the self-only policy).
            body_class = await page.get_attribute("body", "class") or ""
            assert "govuk-frontend-supported" in body_class
            row = page.get_by_role("row").filter(has=page.get_by_role("link", name=CASE))
            assert "Overdue" in await row.inner_text()
            assert "overdue by" in await row.inner_text()
            await no_serious_violations(page)
            await page.screenshot(path=str(shots / "tray.png"), full_page=True)
            assert (shots / "tray.png").stat().st_size > 0

            await page.get_by_role("link", name=CASE).focus()
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            assert page.url == f"{base}/pages/transfers/{TID}"
            deadlines = await page.locator("#deadlines").inner_text()
            assert "Transfer within 10 working days of the TM discussion" in deadlines
            assert "missed" in deadlines
            assert await page.locator("#trail li").count() >= 1
            (timeline,) = await drawn_images(page, "img.app-timeline-chart")
            assert timeline["width"] > 0 and timeline["shown"] > 600
            assert timeline["alt"].startswith(f"Timeline of case {CASE}")
            await no_serious_violations(page)
            await page.screenshot(path=str(shots / "transfer.png"), full_page=True)

            # A POST without the form's token is refused, signed in or not.
            refused = await page.request.post(f"{base}/pages/sign-out", form={"x": "1"})
            assert refused.status == 403
            await page.get_by_role("button", name="Sign out").focus()
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            assert await page.get_by_text("You have signed out").count() == 1
            await page.goto(f"{base}/pages/tray")
            assert "/pages/sign-in" in page.url

            await sign_in_by_keyboard(page, base, "gateshead-cwd-tm")
            assert await page.get_by_role("link", name=CASE).count() == 0
            hidden = await page.goto(f"{base}/pages/transfers/{TID}")
            assert hidden is not None and hidden.status == 404
            assert await page.get_by_role("heading", name="Page not found").count() == 1
            assert policy_errors == []
        finally:
            await browser.close()
