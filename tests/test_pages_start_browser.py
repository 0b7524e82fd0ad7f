"""Issue 11's walk-through in a real browser, by the pages alone: the SGCP Team Manager
starts an SGCP -> LAC transfer from the Start page (by keyboard), SGCP's requirements are
taken through the action forms each person is offered, the case transfers, and the LAC
Team Manager finds it in the tray and allocates a worker. axe-core checks the Start page;
its screenshot goes to a temporary folder (the README's is the real stack's)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page

from tests.browser import (
    chromium,
    needs_chromium,
    new_page,
    no_serious_violations,
    screenshot,
    sign_in_by_keyboard,
    tab_to,
    type_into,
    unreached_by_tab,
    until_listed,
    until_offered,
)
from tests.pages_helpers import follow_the_clock
from tests.serving import serving_pages

pytestmark = needs_chromium
CASE = "C700001"
TID = f"transfer-gateshead-{CASE}"


async def take(page: Page, url: str, action: str, today: datetime,
               note: str = "Done as agreed") -> None:
    """Take one offered action through its form, filling what it asks for."""
    await until_offered(page, url, action)
    form = page.locator(f"#action-{action}")
    for box in await form.locator("input[name=items]").all():
        await box.check()
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        for field in await form.locator(f"input[name$='-{part}']").all():
            await field.fill(str(value))
    if await form.locator("textarea[name=note]").count():
        await form.locator("textarea[name=note]").fill(note)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    assert page.url.endswith(f"?done={action}"), await page.content()


async def test_a_transfer_from_start_to_allocation_by_the_pages_alone(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    now = (await ts_env.get_current_time()).astimezone(ZoneInfo("Europe/London"))
    # Three weeks back, as the README's tour: the agreed date has passed, so the last
    # requirement transfers the case at once.
    anchor = now - timedelta(days=21)
    async with serving_pages(directory_engine, ts_env, worker) as base, chromium() as browser:
        page = await new_page(browser, base)
        await sign_in_by_keyboard(page, base, "gateshead-sgcp-tm")

        # The Start page, by keyboard: from the tray's link, choose the pathway.
        await tab_to(page, "el.id === 'start-link'")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert page.url == f"{base}/pages/transfers/new"
        await no_serious_violations(page)
        await tab_to(page, "el.name === 'pathway'")
        for _ in range(50):
            if await page.evaluate("document.activeElement.value") == "sgcp-to-lac":
                break
            await page.keyboard.press("ArrowDown")
        assert await page.is_checked("#pathway-sgcp-to-lac")
        await tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === "
                           "'Continue'")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert await page.locator("#start-form").count() == 1
        assert await unreached_by_tab(page, "#start-form") == []
        await no_serious_violations(page)
        await screenshot(page, "start", for_docs=False)

        # Sent without a case id: the API's sentence in an error summary, form kept.
        async with page.expect_navigation():
            await page.locator("#start-form button[type=submit]").click()
        summary = await page.locator(".govuk-error-summary").inner_text()
        assert "must be a gateshead case id" in summary
        await no_serious_violations(page)

        await type_into(page, "case_id", CASE)
        await type_into(page, "anchor-day", str(anchor.day))
        await type_into(page, "anchor-month", str(anchor.month))
        await type_into(page, "anchor-year", str(anchor.year))
        await type_into(page, "anchor-time", f"{anchor:%H:%M}")
        await tab_to(page, "el.tagName === 'BUTTON' && el.form && "
                           "el.form.id === 'start-form'")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        url = f"{base}/pages/transfers/{TID}"
        assert page.url == f"{url}?done=start-transfer", await page.content()
        assert await page.locator(".govuk-notification-banner--success").count() == 1

        # SGCP's requirements, as the pages offer them to each person.
        await take(page, url, "authorise-summary", now)
        await take(page, url, "complete-checklist", now)
        await sign_in_by_keyboard(page, base, "gateshead-sgcp-sw")
        await take(page, url, "inform-iro", now, "IRO told by phone")
        await sign_in_by_keyboard(page, base, "gateshead-sgcp-tm")
        await take(page, url, "record-care-order", now, "Care order granted")
        for _ in range(100):
            await page.goto(url)
            if "transferred" in await page.locator("dl").first.inner_text():
                break
        else:
            raise AssertionError("the case never transferred")

        # The receiving Team Manager finds it in the tray and allocates a worker.
        await sign_in_by_keyboard(page, base, "gateshead-lac-tm")
        await until_listed(page, base, CASE)
        async with page.expect_navigation():
            await page.get_by_role("link", name=CASE).click()
        await until_offered(page, url, "allocate")
        await page.locator("#allocate-worker_id").fill("W1")
        async with page.expect_navigation():
            await page.locator("#action-allocate button[type=submit]").click()
        for _ in range(100):
            await page.goto(url)
            if "allocated" in await page.locator("dl").first.inner_text():
                break
        else:
            raise AssertionError("the case was never shown allocated")
        trail = await page.locator("#trail").inner_text()
        for said in ("care order by gateshead-sgcp-tm", "IRO told by phone",
                     "gateshead-lac-tm"):
            assert said in trail, trail
