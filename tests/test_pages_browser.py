"""The managers' pages in a real browser: Debian's chromium driven by Playwright, against
the app served by uvicorn (on this test's event loop, so that it shares the time-skipping
Temporal client) on a free port.

Sign in through the chooser by keyboard, find the overdue transfer in the tray, open it,
see its deadlines and trail; another team's manager sees it neither in the tray nor by its
address; sign out; a POST without the CSRF token is refused; axe-core finds no serious or
critical violations. Screenshots of the tray and the transfer are taken on every run, to a
temporary folder (the README's are the real stack's: tests/test_pages_stack.py).
"""

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


async def test_a_manager_works_the_tray_in_a_browser(ts_env, worker, directory_engine,
                                                     monkeypatch):
    follow_the_clock(monkeypatch)
    async with serving_pages(directory_engine, ts_env, worker) as base, chromium() as browser:
        async with httpx.AsyncClient(base_url=base, timeout=60) as api:
            await start_overdue(api, ts_env)
        page = await new_page(browser, base)

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
        await screenshot(page, "tray", for_docs=False)

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
        await screenshot(page, "transfer", for_docs=False)

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
        assert policy_errors(page) == []
