"""The report page (pages/report) and its charts (pages/charts): the page's figures are the
JSON report's; the charts' geometry from fixed data; the CSV under the pages' session."""

from __future__ import annotations

import csv
import io
import math
import re

import httpx
import pytest

from pages.charts import HEIGHT, LEFT, TOP, bar_chart, bars, line_chart, nice_max, points, ticks
from tests.pages_helpers import csrf_of
from tests.test_report import api, held, report

__all__ = ["api", "held"]  # fixtures, shared with tests/test_report
BASE = HEIGHT - 48  # the x axis: the plot's bottom


def test_axis_tops_are_round() -> None:
    assert [nice_max([v]) for v in (0.4, 3, 7, 11, 24, 60, 100)] == [1, 5, 10, 20, 25, 100, 100]
    assert nice_max([None, None]) == 1


def test_bars_stand_on_the_axis_in_proportion() -> None:
    marks = bars(["a", "b", "c", "d"], [10, 5, 0, None], top=10)
    assert [m.label for m in marks] == ["a", "b", "c", "d"]
    assert all(math.isclose(m.y + m.h, BASE) for m in marks)
    assert math.isclose(marks[0].y, TOP) and math.isclose(marks[1].h, marks[0].h / 2)
    assert marks[2].h == marks[3].h == 0
    # equal slots from the y axis, bars apart
    assert marks[0].x > LEFT and math.isclose(marks[1].x - marks[0].x, marks[2].x - marks[1].x)
    assert marks[0].x + marks[0].w < marks[1].x


def test_points_and_the_line_skip_months_with_nothing_decided() -> None:
    marks = points(["2027-05", "2027-06", "2027-07"], [50, None, 100], top=100)
    assert math.isclose(marks[0].y, (TOP + BASE) / 2) and math.isclose(marks[2].y, TOP)
    assert math.isnan(marks[1].y)
    svg = line_chart("Within", ["a", "b", "c"], [50, None, 100], unit="%", top=100)
    assert "<polyline" not in svg  # no two neighbouring points: nothing to join
    assert svg.count("<circle") == 2 and ">50%<" in svg and ">100%<" in svg


def test_a_chart_is_labelled_svg_without_style_or_script() -> None:
    svg = bar_chart("Breaches <by> deadline", ["transfer_by"], [2], ident="b")
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert '<title id="b-t">Breaches &lt;by&gt; deadline</title>' in svg
    assert "style" not in svg and "script" not in svg
    assert ">transfer_by<" in svg and ">2<" in svg  # each bar's value as text


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
    assert "script-src 'self'" in page.headers["content-security-policy"]
    body = await report(api, who="gateshead-hos-1")
    assert page.text.count("<svg") == 6
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
    # the month chart's points carry the per-month percentages
    assert f">{months['2027-06'][4]}<" in page.text

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
    assert page.status_code == 200 and "There is a problem" in page.text
    assert "must not be before" in page.text and "<svg" not in page.text


def test_gridlines_fall_on_round_steps() -> None:
    assert ticks(5) == [0, 1, 2, 3, 4, 5]
    assert ticks(100) == [0, 20, 40, 60, 80, 100]
    assert ticks(2) == [0, 0.5, 1, 1.5, 2]
    assert ticks(25) == [0, 5, 10, 15, 20, 25]
