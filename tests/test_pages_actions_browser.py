"""Actions from a transfer's page in a real browser (tests/browser.py; by keyboard only):
an action taken changes the trail; a refused one reads as the API's sentence; axe-core
finds no serious or critical violations on the page with its forms, nor on the refusal."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.browser import (
    chromium,
    needs_chromium,
    new_page,
    no_serious_violations,
    sign_in_by_keyboard,
    tab_to,
    unreached_by_tab,
    until_offered,
)
from tests.pages_helpers import follow_the_clock
from tests.serving import serving_pages

pytestmark = needs_chromium
CASE = "C500001"
TID = f"transfer-gateshead-{CASE}"


async def test_an_action_by_keyboard_and_a_readable_refusal(ts_env, worker, directory_engine,
                                                            monkeypatch):
    follow_the_clock(monkeypatch)
    async with serving_pages(directory_engine, ts_env, worker) as base, chromium() as browser:
        now = await ts_env.get_current_time()
        async with httpx.AsyncClient(base_url=base, timeout=60) as api:
            started = await api.post(
                "/transfers", headers={"Authorization": "Bearer demo-gateshead-sgcp-tm"},
                json={"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": CASE,
                      "anchor_at": (now - timedelta(hours=1)).isoformat()})
            assert started.status_code == 201, started.text
        page = await new_page(browser, base)
        await sign_in_by_keyboard(page, base, "gateshead-sgcp-tm")
        url = f"{base}/pages/transfers/{TID}"
        await until_offered(page, url, "record-care-order")
        await no_serious_violations(page)
        # Every action offered is usable by keyboard: Tab reaches each of its controls.
        assert await page.locator("form[id^='action-']").count() >= 4
        assert await unreached_by_tab(page, "form[id^='action-']") == []
        assert "care order by" not in await page.locator("#trail").inner_text()

        await tab_to(page, "el.id === 'record-care-order-note'")
        await page.keyboard.type("Care order granted")
        await tab_to(page, "el.tagName === 'BUTTON' && "
                           "el.form && el.form.id === 'action-record-care-order'")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert page.url == f"{url}?done=record-care-order"
        assert await page.locator(".govuk-notification-banner--success").count() == 1
        trail = await page.locator("#trail").inner_text()
        assert "care order by gateshead-sgcp-tm" in trail
        assert "Care order granted" in trail
        assert await page.locator("#action-record-care-order").count() == 0

        # A checklist with one item ticked: the workflow's refusal, readable.
        await tab_to(page, "el.id === 'complete-checklist-items-genogram_current'")
        await page.keyboard.press("Space")
        await tab_to(page, "el.tagName === 'BUTTON' && "
                           "el.form && el.form.id === 'action-complete-checklist'")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        summary = await page.locator(".govuk-error-summary").inner_text()
        assert "There is a problem" in summary
        assert "The checklist must confirm every item" in summary
        assert await page.is_checked("#complete-checklist-items-genogram_current")
        await no_serious_violations(page)
