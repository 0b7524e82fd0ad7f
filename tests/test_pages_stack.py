"""The managers' pages in a real browser against the real stack (ops/stack.py): the Temporal
dev server, the worker and the API under uvicorn as processes, as `make dev` runs them, on a
SQLite store and an SMTP sink, with the local OpenID provider (oidc-provider on node)
signing the pages in by the authorization code flow with PKCE.

One stack for the module; each test signs in afresh in a context of its own, so the tests
may run alone or in any order, except that the action test changes the overdue transfer
(the others only read it, and count whatever the store holds). The dev server keeps the
real clock, so every anchor is relative to now: the overdue transfer's TM discussion was
40 days ago, more than 10 working days whatever the weekends, bank holidays (Christmas
included) or clock changes in between; the other's an hour ago, its deadlines weeks away.

axe-core runs on every page visited; with SCREENSHOTS=docs each page's screenshot goes to
docs/screenshots/ (the README's), otherwise to a temporary folder (tests/browser.py).
"""

from __future__ import annotations

import csv
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy
from aiosmtpd.controller import Controller
from playwright.async_api import Browser, Page
from sqlmodel import Session, select

from config import ROOT
from database import make_engine
from models.protocol_files import load_protocols
from models.tables import Transfer
from ops.demo import demo_staff, demo_token
from ops.stack import Stack
from tests.browser import (
    chromium,
    needs_chromium,
    new_page,
    no_serious_violations,
    policy_errors,
    screenshot,
    tab_to,
    until_listed,
    watch,
)
from tests.identity_provider import AUDIENCE, LocalProvider
from tests.mail import Mailbox, free_port
from tests.pages_helpers import SECRET
from tests.test_report_browser import from_the_store

pytestmark = needs_chromium
LONDON = ZoneInfo("Europe/London")
CLIENT = "caseflow-pages-stack"
PROTOCOLS = load_protocols(ROOT / "protocols")
PATHWAY = PROTOCOLS["gateshead"].pathways["sgcp-to-lac"]
CHECKLIST = PATHWAY.gates["checklist"]
STARTER = "gateshead-sgcp-tm"  # the sending team's manager: starts both, takes the action
OUTSIDER = "gateshead-cwd-tm"  # another team's manager, with no part in SGCP -> LAC
READER = "gateshead-director"  # may read the authority's timeliness report
OVERDUE_CASE, CALM_CASE = "C810001", "C810002"
OVERDUE_TID = f"transfer-gateshead-{OVERDUE_CASE}"


@dataclass
class Live:
    stack: Stack
    provider: LocalProvider
    engine: sqlalchemy.Engine

    @property
    def base(self) -> str:
        return self.stack.api_url


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The stack, its SMTP sink and the provider whose pages client returns to its API."""
    workdir = tmp_path_factory.mktemp("pages-stack")
    mailbox = Mailbox(port=free_port())
    smtp = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    smtp.start()
    stack = Stack(workdir / "stack", database_url=f"sqlite:///{workdir / 'caseflow.db'}",
                  smtp_port=mailbox.port)
    callback = f"{stack.api_url}/pages/sign-in/callback"
    subjects = [p.id for protocol in PROTOCOLS.values() for p in demo_staff(protocol)]
    provider = LocalProvider(workdir / "idp", subjects, {AUDIENCE: "RS256"},
                             pages_clients={CLIENT: [callback]})
    stack.extra_env.update({
        "OIDC_ISSUER": provider.issuer, "OIDC_AUDIENCE": AUDIENCE,
        "PAGES_OIDC_CLIENT_ID": CLIENT, "PAGES_OIDC_REDIRECT_URL": callback,
        "PAGES_SESSION_SECRET": SECRET})
    engine = make_engine(stack.database_url)
    try:
        provider.start()
        stack.prepare_store()
        stack.start_temporal()
        stack.start_worker()
        stack.start_api()
        # The port the provider was told is the port the API listens on (start_api moves
        # only if another process took it meanwhile, which would show here).
        assert f"{stack.api_url}/pages/sign-in/callback" == callback
        yield Live(stack, provider, engine)
    finally:
        stack.close()
        provider.stop()
        smtp.stop()
        engine.dispose()
        for name in ("worker", "api"):
            print(f"----- {name}.log (tail) -----\n{stack.log_tail(name, 30)}")  # noqa: T201


def start(base: str, case: str, anchor: datetime) -> None:
    """An SGCP -> LAC transfer started through the API by the SGCP Team Manager."""
    answer = httpx.post(
        f"{base}/transfers", timeout=60,
        headers={"Authorization": f"Bearer {demo_token(STARTER)}",
                 "Idempotency-Key": f"start-{case}"},
        json={"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": case,
              "anchor_at": anchor.isoformat()})
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def transfers(live: Live) -> str:
    """One transfer whose first deadlines were missed before it started, one not yet due,
    both stored by the worker (the overdue one flagged); the overdue one's id."""
    now = datetime.now(UTC)  # not London's wall clock: an hour back from 03:30 BST is no hour
    start(live.base, OVERDUE_CASE, now - timedelta(days=40))
    start(live.base, CALM_CASE, now - timedelta(hours=1))
    deadline = time.monotonic() + 60
    while True:
        with Session(live.engine) as db:
            stored = {t.case_id: t.overdue for t in db.exec(select(Transfer))}
        if stored == {OVERDUE_CASE: True, CALM_CASE: False}:
            return OVERDUE_TID
        assert time.monotonic() < deadline, f"not stored as expected: {stored}"
        time.sleep(0.1)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def signed_in(browser: Browser, live: Live, login: str, *, shot: bool = False
                    ) -> Page:
    """A page in a new context, signed in through the provider as `login`."""
    page = await new_page(browser, live.base, accept_downloads=True)
    await sign_in(page, live, login, shot=shot)
    return page


async def sign_in(page: Page, live: Live, login: str, *, shot: bool = False) -> None:
    """The pages' button by keyboard, then the provider's development login form (any login
    name is that `sub`) and its consent; back on the tray, signed in as `login`."""
    await page.goto(f"{live.base}/pages/sign-in")
    await no_serious_violations(page)
    if shot:
        await screenshot(page, "sign-in")
    await tab_to(page, "el.textContent.trim() === 'Sign in with your council account'")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.startswith(live.provider.issuer), page.url
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "any password")
    await page.click("button[type=submit]")
    if "/interaction/" in page.url and await page.locator("button[type=submit]").count():
        await page.click("button[type=submit]")  # the consent: "Continue"
    await page.wait_for_url(f"{live.base}/pages/tray")
    signed = await page.locator(".app-signed-in").inner_text()
    assert signed.endswith(f"({login})"), signed


async def sign_out_by_keyboard(page: Page, live: Live) -> None:
    """Out of the pages, then (the banner's link) out of the provider too, so that the next
    sign-in asks who it is rather than reusing the provider's session."""
    await tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === 'Sign out'")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.get_by_text("You have signed out").count() == 1
    await no_serious_violations(page)
    await tab_to(page, "el.textContent.trim() === 'Sign out of your council account too'")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.startswith(live.provider.issuer), page.url
    # oidc-provider asks to confirm; its "Yes" button is the form's first.
    async with page.expect_navigation():
        await page.locator("button[type=submit]").first.click()
    await page.goto(f"{live.base}/pages/tray")
    assert "/pages/sign-in" in page.url


async def test_a_manager_signs_in_and_finds_the_overdue_transfer(live, transfers, browser):
    page = await signed_in(browser, live, STARTER, shot=True)
    # Once the worker has stored both, and the missed deadlines (at the start) with them.
    await until_listed(page, live.base, CALM_CASE)
    await until_listed(page, live.base, OVERDUE_CASE, "?overdue=yes")

    # The filter, by keyboard: from the tray unfiltered, choose "Overdue only", Filter.
    await page.goto(f"{live.base}/pages/tray")
    await tab_to(page, "el.id === 'overdue'")
    await page.keyboard.press("ArrowDown")  # a closed select: the next option, "yes"
    assert await page.locator("#overdue").input_value() == "yes"
    await tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === 'Filter'")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "overdue=yes" in page.url
    assert await page.locator("#overdue").input_value() == "yes"
    assert await page.get_by_role("link", name=CALM_CASE).count() == 0
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=OVERDUE_CASE))
    assert "Overdue" in await row.inner_text()
    await no_serious_violations(page)
    await screenshot(page, "tray")

    await page.get_by_role("link", name=OVERDUE_CASE).focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == f"{live.base}/pages/transfers/{OVERDUE_TID}"
    deadlines = await page.locator("#deadlines").inner_text()
    assert "Transfer within 10 working days of the TM discussion" in deadlines
    assert "missed" in deadlines
    await no_serious_violations(page)
    await screenshot(page, "transfer")
    assert policy_errors(page) == []


def gate_row(page: Page, title: str) -> Any:
    return page.locator("#gates tbody tr").filter(has_text=title)


async def tick_by_keyboard(page: Page, items: list[str]) -> None:
    for item in items:
        await tab_to(page, f"el.id === 'complete-checklist-items-{item}'")
        if not await page.is_checked(f"#complete-checklist-items-{item}"):
            await page.keyboard.press("Space")
        assert await page.is_checked(f"#complete-checklist-items-{item}")


async def test_an_action_by_keyboard_a_refusal_and_a_stale_form(live, transfers, browser):
    page = await signed_in(browser, live, STARTER)
    url = f"{live.base}/pages/transfers/{OVERDUE_TID}"
    await page.goto(url)
    assert "Not yet" in await gate_row(page, CHECKLIST.title).inner_text()
    trail_before = await page.locator("#trail li").count()
    days_before = await page.locator("#timeline-days").text_content() or ""
    chart_before = await page.locator("img.app-timeline-chart").get_attribute("src")
    assert CHECKLIST.title not in days_before
    # The same page in a second tab, left open: its form goes stale once the step is done.
    stale = await page.context.new_page()
    watch(stale)
    await stale.goto(url)

    # One item ticked: the workflow's refusal, as a sentence, with the form kept.
    await tick_by_keyboard(page, ["genogram_current"])
    await tab_to(page, "el.tagName === 'BUTTON' && el.form && "
                       "el.form.id === 'action-complete-checklist'")
    async with page.expect_navigation() as refused:
        await page.keyboard.press("Enter")
    answer = await refused.value
    assert answer is not None and answer.status == 422, answer.status
    summary = await page.locator(".govuk-error-summary").inner_text()
    assert "There is a problem" in summary
    assert "The checklist must confirm every item" in summary
    assert "Traceback" not in await page.content()
    await no_serious_violations(page)
    await screenshot(page, "refusal")

    # The rest ticked on the form offered again, sent by keyboard: the step done.
    await tick_by_keyboard(page, CHECKLIST.items)
    await tab_to(page, "el.tagName === 'BUTTON' && el.form && "
                       "el.form.id === 'action-complete-checklist'")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == f"{url}?done=complete-checklist", page.url
    assert await page.locator(".govuk-notification-banner--success").count() == 1
    assert f"Done by {STARTER}" in await gate_row(page, CHECKLIST.title).inner_text()
    assert await page.locator("#trail li").count() == trail_before + 1
    assert STARTER in await page.locator("#trail li").last.inner_text()
    # The timeline too: today's events include the step, and the chart was drawn again.
    assert CHECKLIST.title in (await page.locator("#timeline-days").text_content() or "")
    assert await page.locator("img.app-timeline-chart").get_attribute("src") != chart_before
    assert await page.locator("#action-complete-checklist").count() == 0
    await no_serious_violations(page)
    await screenshot(page, "action-done")

    # The stale tab's form, sent after the step was done: refused in words.
    await tick_by_keyboard(stale, CHECKLIST.items)
    await tab_to(stale, "el.tagName === 'BUTTON' && el.form && "
                        "el.form.id === 'action-complete-checklist'")
    async with stale.expect_navigation() as late:
        await stale.keyboard.press("Enter")
    answer = await late.value
    assert answer is not None and answer.status == 409, answer.status
    said = await stale.locator("#refusal").inner_text()
    assert said.startswith(f"{CHECKLIST.title} was already recorded by {STARTER} at "), said
    assert "Traceback" not in await stale.content()
    await no_serious_violations(stale)
    assert policy_errors(page) == policy_errors(stale) == []


async def test_another_team_is_told_the_transfer_does_not_exist(live, transfers, browser):
    page = await signed_in(browser, live, STARTER)
    shown = await page.goto(f"{live.base}/pages/transfers/{OVERDUE_TID}")
    assert shown is not None and shown.status == 200
    await sign_out_by_keyboard(page, live)
    await sign_in(page, live, OUTSIDER)
    assert await page.get_by_role("link", name=OVERDUE_CASE).count() == 0
    hidden = await page.goto(f"{live.base}/pages/transfers/{OVERDUE_TID}")
    assert hidden is not None and hidden.status == 404
    assert await page.get_by_role("heading", name="Page not found").count() == 1
    said = await page.locator("main").inner_text()
    await no_serious_violations(page)
    await screenshot(page, "not-found")
    missing = await page.goto(f"{live.base}/pages/transfers/transfer-gateshead-C899999")
    assert missing is not None and missing.status == 404
    assert await page.locator("main").inner_text() == said
    assert policy_errors(page) == []


def london_month(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y-%m")


async def test_the_report_downloads_and_agrees_with_the_store(live, transfers, browser,
                                                              tmp_path: Path):
    page = await signed_in(browser, live, READER)
    now = datetime.now(LONDON)
    # This month and the one before: the transfers started just now, perhaps either side
    # of a month's end.
    months = sorted({london_month(now - timedelta(days=now.day)), london_month(now)})
    await page.get_by_role("link", name="Timeliness report").focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.fill("#from", months[0])
    await page.fill("#to", months[-1])
    await tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === "
                       "'Show the report'")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await no_serious_violations(page)
    await screenshot(page, "report-stack", for_docs=False)  # docs: the seeded report

    counted_before = {m: from_the_store(live.engine, m) for m in months}
    await page.get_by_role("link", name="Download CSV").focus()
    async with page.expect_download() as info:
        await page.keyboard.press("Enter")
    download = await info.value
    assert download.suggested_filename == \
        f"timeliness-gateshead-{months[0]}-to-{months[-1]}.csv"
    path = tmp_path / "report.csv"
    await download.save_as(path)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    counted = {m: from_the_store(live.engine, m) for m in months}
    assert counted == counted_before, "the store changed while the report was read"
    for month in months:
        got = [r for r in rows if r["month"] == month]
        summed = {k: sum(int(r[k]) for r in got)
                  for k in ("transfers", "decided", "within_timescale", "disputes")}
        assert summed == counted[month], month
    # Not vacuous: this module's transfers are there, the overdue one decided (late).
    assert sum(c["transfers"] for c in counted.values()) >= 2
    assert sum(c["decided"] for c in counted.values()) >= 1
    assert policy_errors(page) == []


async def test_the_start_page_and_a_pathway_page(live, browser):
    page = await signed_in(browser, live, STARTER)
    await tab_to(page, "el.id === 'start-link'")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == f"{live.base}/pages/transfers/new"
    await no_serious_violations(page)
    await screenshot(page, "start")
    await page.goto(f"{live.base}/pages/pathways/gateshead/sgcp-to-lac")
    assert await page.get_by_role("heading", level=1).inner_text() == PATHWAY.title
    await no_serious_violations(page)
    await screenshot(page, "pathway")
    assert policy_errors(page) == []


def test_the_stack_logged_no_traceback(live):
    """The worker and the API logged no traceback while the pages were used."""
    for name in ("worker", "api"):
        assert "Traceback" not in live.stack.log_path(name).read_text(errors="replace"), \
            live.stack.log_tail(name)
