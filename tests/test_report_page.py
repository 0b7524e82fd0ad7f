"""The report page (pages/report): the page's figures are the JSON report's, its charts are
images of the same figures (tests/test_pages_charts for the charts themselves); the CSV under
the pages' session."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import httpx
import pytest

from pages.figures import number
from pages.report import _default_months
from tests.pages_helpers import csrf_of
from tests.test_pages_charts import pictures, svg_texts
from tests.test_report import api, held, report

__all__ = ["api", "held"]  # fixtures, shared with tests/test_report


async def sign_in(api: httpx.AsyncClient, staff_id: str) -> None:
    chooser = await api.get("/pages/sign-in", params={"authority": "gateshead"})
    done = await api.post("/pages/sign-in", data={"csrf_token": csrf_of(chooser.text),
                                                  "staff_id": staff_id})
    assert done.status_code == 303, done.text


def _cells(html: str, table: str) -> list[list[str]]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(
        r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows][1:]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_a_head_of_service_sees_the_reports_figures(api: httpx.AsyncClient) -> None:
    await sign_in(api, "gateshead-hos-1")
    page = await api.get("/pages/report", params={"from": "2027-05", "to": "2027-06"})
    assert page.status_code == 200, page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "img-src 'self' data:;" in csp
    assert "unsafe-inline" not in csp  # the charts' styles stay inside their images
    body = await report(api, who="gateshead-hos-1")
    charts = pictures(page.text)
    assert [css for css, _, _ in charts] == ["app-chart"] * 6 and "<svg" not in page.text
    alts = [alt for _, alt, _ in charts]
    assert alts[0].startswith("Transfers within timescale by month (%), 2027-05 to 2027-06")
    assert alts[3].startswith("Breaches by deadline")
    rows = _cells(page.text, "report-rows")
    assert [(r[0], r[1], r[2], int(r[3])) for r in rows] == [
        (j["team"], j["pathway"], j["month"], j["transfers"]) for j in body["rows"]]
    months = {r[0]: r for r in _cells(page.text, "by-month")}
    may = [j for j in body["rows"] if j["month"] == "2027-05"]
    assert int(months["2027-05"][1]) == sum(j["transfers"] for j in may)
    assert int(months["2027-05"][3]) == sum(j["within_timescale"] for j in may)
    assert dict((k, int(v)) for k, v in _cells(page.text, "breaches")) == \
        body["total"]["breaches"]
    assert {k.removeprefix("Level "): int(v) for k, v in _cells(page.text, "dispute-levels")} \
        == body["total"]["disputes"]["by_level"]
    assert {k: int(v) for k, v in _cells(page.text, "dispute-outcomes")} == \
        body["total"]["disputes"]["by_outcome"]
    # the month chart's points carry the per-month percentages, as the table does
    within = svg_texts(charts[0][2])
    shown = [number(float(months[m][4].removesuffix("%")), "%") for m in ("2027-05", "2027-06")]
    assert {"2027-05", "2027-06", *shown} <= set(within)
    assert set(dict(_cells(page.text, "breaches"))) <= set(svg_texts(charts[3][2]))

    got = await api.get("/pages/report.csv", params={"from": "2027-05", "to": "2027-06"})
    assert got.headers["content-type"].startswith("text/csv")
    again = await api.get("/reports/timeliness?from=2027-05&to=2027-06&format=csv",
                          headers={"Authorization": "Bearer demo-gateshead-hos-1"})
    assert list(csv.reader(io.StringIO(got.text))) == list(csv.reader(io.StringIO(again.text)))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_a_team_manager_is_refused_in_words(api: httpx.AsyncClient) -> None:
    await sign_in(api, "gateshead-sgcp-tm")
    page = await api.get("/pages/report", params={"from": "2027-05", "to": "2027-06"})
    assert page.status_code == 403 and "timeliness report is for" in page.text
    assert (await api.get("/pages/report.csv?from=2027-05&to=2027-06")).status_code == 403


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_bad_months_are_explained_on_the_form(api: httpx.AsyncClient) -> None:
    await sign_in(api, "gateshead-director")
    page = await api.get("/pages/report", params={"from": "2027-06", "to": "2027-05"})
    assert page.status_code == 422 and "There is a problem" in page.text
    assert "must not be before" in page.text and pictures(page.text) == []
    early = await api.get("/pages/report", params={"from": "1999-12", "to": "2027-05"})
    assert early.status_code == 422 and "from must be 2000-01 or later, not 1999-12" in early.text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_months_without_transfers_are_said_in_words_not_drawn(
        api: httpx.AsyncClient) -> None:
    await sign_in(api, "gateshead-director")
    page = await api.get("/pages/report", params={"from": "2027-01", "to": "2027-02"})
    assert page.status_code == 200, page.text
    assert pictures(page.text) == []
    assert "No transfers started in these months, so there is nothing to chart." in page.text
    assert "No deadline was missed." in page.text


@pytest.mark.parametrize(("now", "months"), [
    # 23:30 UTC on 31 May 2027 is 00:30 on 1 June in London (BST): already June.
    (datetime(2027, 5, 31, 23, 30, tzinfo=UTC), ("2026-07", "2027-06")),
    # 00:30 on 1 January in London (GMT) is 1 January UTC too.
    (datetime(2027, 1, 1, 0, 30, tzinfo=UTC), ("2026-02", "2027-01")),
    (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), ("2026-01", "2026-12")),
])
def test_the_default_months_are_londons(now: datetime, months: tuple[str, str]) -> None:
    assert _default_months(now) == months
