"""Shared by the pages' tests: a transfer left overdue, as the README's tour starts one."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
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


class ErrorPattern(HTMLParser):
    """What a page shows of the GOV.UK error pattern: its title, the summary's links (and a
    problem of the whole form), each inline error message by its id, and which element
    names each message in its aria-describedby."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.title = ""
        self.summary_role = ""
        self.summary_focusable = False
        self.links: list[tuple[str, str]] = []
        self.refusal = ""
        self.inline: dict[str, str] = {}
        self.described: dict[str, str] = {}  # an error message's id -> the element's id
        self.ids: set[str] = set()
        self._in: list[str] = []  # what the text being read belongs to
        self._inline_id = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        for described in a.get("aria-describedby", "").split():
            self.described[described] = a.get("id", tag)
        classes = a.get("class", "").split()
        if tag == "title":
            self._in.append("title")
        elif "govuk-error-summary" in classes:
            self.summary_focusable = a.get("tabindex") == "-1"
        elif a.get("role") == "alert" and not self.summary_role:
            self.summary_role = "alert"
        elif tag == "a" and self._in[-1:] == ["list"]:
            self.links.append((a.get("href", ""), ""))
            self._in.append("link")
        elif tag == "ul" and "govuk-error-summary__list" in classes:
            self._in.append("list")
        elif tag == "li" and a.get("id") == "refusal":
            self._in.append("refusal")
        elif tag == "p" and "govuk-error-message" in classes:
            self._inline_id = a.get("id", "")
            self.inline[self._inline_id] = ""
            self._in.append("inline")

    def handle_endtag(self, tag: str) -> None:
        ends = {"title": "title", "a": "link", "ul": "list", "li": "refusal", "p": "inline"}
        if self._in and ends.get(tag) == self._in[-1] and self._in.pop() == "link":
            self.links[-1] = (self.links[-1][0], self.links[-1][1].strip())

    def handle_data(self, data: str) -> None:
        if not self._in:
            return
        what = self._in[-1]
        if what == "title":
            self.title += data
        elif what == "link":
            self.links[-1] = (self.links[-1][0], self.links[-1][1] + data)
        elif what == "refusal":
            self.refusal += data
        elif what == "inline":
            self.inline[self._inline_id] += data

    def shows(self, target: str, error_id: str, words: str) -> None:
        """The whole pattern for one field: the title says Error, the summary (an alert,
        focusable) links to the field's input, whose group shows the message, with the
        hidden "Error:" prefix, named by the field's aria-describedby."""
        assert self.title.startswith("Error: "), self.title
        assert self.summary_role == "alert" and self.summary_focusable
        linked = dict(self.links).get(f"#{target}", "")
        assert words in linked, (target, self.links)
        assert target in self.ids, f"the summary links to #{target}, which is not on the page"
        assert self.inline.get(error_id, "").startswith("Error: "), (error_id, self.inline)
        assert words in self.inline[error_id]
        assert error_id in self.described, f"nothing is described by {error_id}"
