"""In the real browser (tests/browser.py): a transfer's timeline chart is drawn and visible,
the pathway in plain words opens from it, and axe-core finds no serious or critical
violations on either page. Screenshots of the timeline (to docs/screenshots/ with
SCREENSHOTS=docs) and of the pathway page (to a temporary folder: the README's is the real
stack's)."""

from __future__ import annotations

import httpx

from tests.browser import (
    chromium,
    drawn_images,
    needs_chromium,
    new_page,
    no_serious_violations,
    policy_errors,
    screenshot,
    sign_in_by_keyboard,
    until_listed,
)
from tests.pages_helpers import CASE, TID, follow_the_clock, start_overdue
from tests.serving import serving_pages

pytestmark = needs_chromium


async def test_the_timeline_and_the_pathway_in_a_browser(ts_env, worker, directory_engine,
                                                         monkeypatch):
    follow_the_clock(monkeypatch)
    async with serving_pages(directory_engine, ts_env, worker) as base, chromium() as browser:
        async with httpx.AsyncClient(base_url=base, timeout=60) as api:
            await start_overdue(api, ts_env)
        page = await new_page(browser, base)
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
        await screenshot(page, "timeline", page.locator("#timeline"))

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
        await screenshot(page, "pathway", for_docs=False)

        await page.get_by_role("link", name="All pathways").click()
        await page.wait_for_url(f"{base}/pages/pathways")
        await no_serious_violations(page)
        assert policy_errors(page) == []
