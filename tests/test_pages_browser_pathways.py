"""In the real browser (test_pages_browser's chromium and helpers): a transfer's timeline
chart is drawn and visible, the pathway in plain words opens from it, and axe-core finds no
serious or critical violations on either page. A screenshot of the pathway page is taken,
to docs/screenshots/ with SCREENSHOTS=docs, otherwise to the test's temporary folder."""

from __future__ import annotations

import os

import httpx
from playwright.async_api import async_playwright

from tests.pages_helpers import CASE, TID, follow_the_clock, start_overdue
from tests.test_pages_browser import (
    AXE,
    AXE_URL,
    CHROMIUM,
    DOCS_SCREENSHOTS,
    drawn_images,
    no_serious_violations,
    served,
    sign_in_by_keyboard,
    until_listed,
)
from tests.test_pages_browser import pytestmark as needs_chromium

pytestmark = needs_chromium


async def test_the_timeline_and_the_pathway_in_a_browser(ts_env, worker, directory_engine,
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
            await until_listed(page, base, CASE)
            await page.goto(f"{base}/pages/transfers/{TID}")

            chart = page.get_by_role("img", name="Timeline of case")
            await chart.wait_for(state="visible")
            box = await chart.bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 100
            (drawn,) = await drawn_images(page, "#timeline img")
            assert drawn["width"] > 0  # the SVG image loaded under the pages' policy
            # The words stay out of sight but in the page for assistive technology.
            assert await page.locator("#timeline-deadlines tbody tr").count() >= 2
            assert "✗ missed" in (await page.locator("#timeline-deadlines").text_content() or "")
            caption = page.locator("#timeline figcaption")
            assert await caption.evaluate("e => e.getBoundingClientRect().width") <= 1
            assert await page.locator("#timeline-days tbody tr").count() >= 1
            await no_serious_violations(page)
            await page.locator("#timeline").screenshot(path=str(shots / "timeline.png"))

            async with page.expect_navigation():
                await page.get_by_role("link", name="SGCP to Looked After Children Service"
                                       ).click()
            assert page.url == f"{base}/pages/pathways/gateshead/sgcp-to-lac"
            assert await page.get_by_role("heading", level=1).inner_text() == \
                "SGCP to Looked After Children Service"
            assert await page.get_by_role(
                "heading", name="Clocks: deadlines, and what happens if one is missed"
            ).count() == 1
            await no_serious_violations(page)
            await page.screenshot(path=str(shots / "pathway.png"), full_page=True)
            assert (shots / "pathway.png").stat().st_size > 0

            await page.get_by_role("link", name="All pathways").click()
            await page.wait_for_url(f"{base}/pages/pathways")
            await no_serious_violations(page)
            assert policy_errors == []
        finally:
            await browser.close()
