"""What every browser test shares: Debian's chromium driven by Playwright, a page that
notes each Content Security Policy violation, axe-core, keyboard helpers, screenshots.

Playwright never downloads a browser here: it launches /usr/bin/chromium (`make test`
installs it, with axe-core from `npm ci --prefix web`). Without either, locally, the
browser tests are skipped (`needs_chromium`); in CI they run.

axe-core reaches the page at a same-origin address served by the test alone (a Playwright
route), so the pages' self-only script policy stays in force while it runs.

Screenshots go to docs/screenshots/ with SCREENSHOTS=docs (for the README), otherwise to
one folder under the system's temporary directory, so that `make test` leaves the working
tree as it found it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright

from config import ROOT
from pages.sign_in_oidc import FLOW_COOKIE

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/pages/static/__test-axe.js"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# Near GOV.UK's page width (960 px) with a margin: screenshots readable in the README.
VIEWPORT = {"width": 1100, "height": 900}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() or not AXE.exists(),
    reason="needs Debian's chromium and `npm ci --prefix web` (`make test` installs both)")

# The policy violations each page reported on its console, by page (see policy_errors).
_violations: dict[int, list[str]] = {}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's chromium, headless, closed when the block ends."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def new_context(browser: Browser, base: str, **options: Any) -> BrowserContext:
    """A fresh context (its own cookies) whose pages can load axe-core from `base`."""
    context = await browser.new_context(viewport=VIEWPORT, **options)  # type: ignore[arg-type]
    await context.route(f"{base}{AXE_URL}", lambda route: route.fulfill(
        path=AXE, content_type="text/javascript"))
    return context


async def new_page(browser: Browser, base: str, **options: Any) -> Page:
    """A page in a context of its own that notes Content Security Policy violations."""
    page = await (await new_context(browser, base, **options)).new_page()
    watch(page)
    return page


def watch(page: Page) -> list[str]:
    """Note every console message about the Content Security Policy on `page`."""
    seen = _violations[id(page)] = []
    page.on("console", lambda m: seen.append(m.text)
            if "Content Security Policy" in m.text else None)
    return seen


def policy_errors(page: Page) -> list[str]:
    """The policy violations `page` has reported so far (a page from new_page or watch)."""
    return _violations[id(page)]


async def no_serious_violations(page: Page) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.add_script_tag(url=AXE_URL)
    violations = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], (page.url, serious)


async def drawn_images(page: Page, selector: str) -> list[dict[str, Any]]:
    """Each image's loaded width and alt text: a width of 0 is a picture that never drew
    (a data: image the policy refused, or an SVG the browser could not read)."""
    await page.wait_for_load_state("load")
    found: list[dict[str, Any]] = await page.eval_on_selector_all(
        selector, "els => els.map(e => ({width: e.complete ? e.naturalWidth : 0, "
                  "alt: e.alt, shown: e.getBoundingClientRect().width}))")
    return found


def screenshots_folder(for_docs: bool = True) -> Path:
    if for_docs and os.environ.get("SCREENSHOTS") == "docs":
        folder = DOCS_SCREENSHOTS
    else:
        folder = Path(tempfile.gettempdir()) / "caseflow-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def screenshot(page: Page, name: str, of: Locator | None = None, *,
                     for_docs: bool = True) -> Path:
    """`<name>.png` of the whole page (or of one element, `of`); its path. The README's
    pages are those of the real stack (tests/test_pages_stack.py): a test on the app in
    process that shows the same page passes for_docs=False, so that it never replaces
    them."""
    path = screenshots_folder(for_docs) / f"{name}.png"
    if of is None:
        await page.screenshot(path=str(path), full_page=True)
    else:
        await of.screenshot(path=str(path))
    assert path.stat().st_size > 0
    return path


# ----- The keyboard ----------------------------------------------------------------------

async def tab_to(page: Page, test: str) -> None:
    """Press Tab until the focused element passes `test` (a JS expression on `el`)."""
    for _ in range(300):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"(() => {{ const el = document.activeElement; "
                               f"return !!({test}); }})()"):
            return
    raise AssertionError(f"Tab never reached {test}")


async def unreached_by_tab(page: Page, scope: str) -> list[str]:
    """The controls under `scope` (a CSS selector) that Tab from the top of the page never
    focuses, as "tag#id" strings; [] when every one is reached. A radio group is one stop
    (the arrows move within it), so it counts as reached when any of its radios is."""
    controls: list[str] = await page.eval_on_selector_all(
        f"{scope} :is(input:not([type=hidden]), textarea, select, button)",
        "els => els.map((e, i) => { e.dataset.kb = String(i); "
        "return e.type === 'radio' ? 'radio:' + e.name : 'kb:' + i; })")
    described = await page.eval_on_selector_all(
        f"{scope} :is(input:not([type=hidden]), textarea, select, button)",
        "els => els.map(e => e.tagName.toLowerCase() + '#' + (e.id || e.name || e.type))")
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.keyboard.press("Tab")
    first = await page.evaluate("document.activeElement === document.body ? null : "
                                "document.activeElement")
    assert first is not None or controls == [], "Tab focused nothing on the page"
    reached: set[str] = set()
    for _ in range(1000):
        seen = await page.evaluate(
            "(() => { const e = document.activeElement; if (!e || !e.dataset.kb) return null;"
            " return e.type === 'radio' ? 'radio:' + e.name : 'kb:' + e.dataset.kb; })()")
        if seen is not None:
            reached.add(seen)
        if reached >= set(controls):
            break
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement === document.body"):
            break  # past the last stop
    return sorted({d for key, d in zip(controls, described, strict=True) if key not in reached})


async def type_into(page: Page, field_id: str, text: str) -> None:
    """Tab to a field, replace what it holds, type."""
    await tab_to(page, f"el.id === '{field_id}'")
    await page.keyboard.press("Control+A")
    await page.keyboard.type(text)


async def submit_by_keyboard(page: Page, form_id: str) -> None:
    """Tab to the form's submit button and press Enter; wait for the next page."""
    await tab_to(page, f"el.tagName === 'BUTTON' && el.form && el.form.id === '{form_id}'")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def sign_in_by_keyboard(page: Page, base: str, staff_id: str,
                              authority: str = "gateshead") -> None:
    """The development chooser: Tab to its radios, arrow to the person, Tab to the button,
    Enter."""
    await page.goto(f"{base}/pages/sign-in?authority={authority}")
    await tab_to(page, "el.name === 'staff_id'")
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


# ----- Waiting for the worker --------------------------------------------------------------

async def until_listed(page: Page, base: str, case_id: str, query: str = "",
                       tries: int = 100) -> None:
    """The tray (with `query`, e.g. "?overdue=yes") once the worker has stored the transfer
    (an activity writes it)."""
    for _ in range(tries):
        await page.goto(f"{base}/pages/tray{query}")
        if await page.get_by_role("link", name=case_id).count():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{case_id} never reached the tray")


async def until_offered(page: Page, url: str, action: str, tries: int = 100) -> None:
    """The transfer's page once it offers `action` (the worker has stored the step)."""
    for _ in range(tries):
        await page.goto(url)
        if await page.locator(f"#action-{action}").count():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{action} was never offered")


# ----- The identity provider -------------------------------------------------------------

async def through_login_form(page: Page, base: str, login: str) -> str:
    """From the pages' sign-in button, through the local provider's development login form
    (any login name is that `sub`) and its consent, back to the pages; the flow's cookie."""
    await page.goto(f"{base}/pages/sign-in/idp")
    [flow] = [c["value"] for c in await page.context.cookies(f"{base}/pages/sign-in/callback")
              if c["name"] == FLOW_COOKIE]
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "any password")
    await page.click("button[type=submit]")
    if await page.locator("button[type=submit]").count() and "/interaction/" in page.url:
        await page.click("button[type=submit]")  # the consent: "Continue"
    await page.wait_for_url(f"{base}/pages/**")
    return flow
