"""Over HTTP, in process: a transfer's timeline chart and its words, and a pathway in plain
words, which only its own authority's staff can read. (The chart itself: test_pages_timeline.)"""

from __future__ import annotations

import html
import re

from sqlmodel import Session, col, select

from models.tables import Staff
from tests.pages_helpers import SECRET, TID, follow_the_clock, start_overdue
from tests.test_pages import sign_in, until_in_tray
from tests.test_pages_charts import IMG, pictures, svg_texts
from tests.transfers import api_on

PATHWAY = "/pages/pathways/gateshead/sgcp-to-lac"


async def test_the_timeline_chart_and_its_words_are_on_a_transfer_page(
        ts_env, worker, directory_engine, monkeypatch):
    follow_the_clock(monkeypatch)
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        await sign_in(api, "gateshead-lac-tm")
        await start_overdue(api, ts_env)
        tray = await until_in_tray(api, "C100234")
        assert f'href="{PATHWAY}"' in tray
        page = (await api.get(f"/pages/transfers/{TID}")).text
        chart = page[page.index('<figure'):page.index('</figure>')]
        ((css, alt, svg),) = pictures(chart)
        assert css == "app-timeline-chart" and alt.startswith("Timeline of case C100234, from ")
        texts = svg_texts(svg)
        table = page[page.index('id="deadlines"'):page.index('id="timeline"')]
        # One lane per deadline of the (visible) deadlines table, each with its title.
        titles = [html.unescape(t) for t in re.findall(
            r'<tr class="govuk-table__row">\s*<td class="govuk-table__cell">([^<]+)</td>', table)]
        assert len(titles) == table.count("<tr") - 1 >= 2
        assert "Transfer within 10 working days of the TM discussion" in titles
        assert set(titles) <= set(texts)
        assert "✗ missed" in texts and "Now" in texts
        assert 'id="timeline-deadlines"' in chart and 'id="timeline-days"' in chart
        assert "style=" not in IMG.sub("", chart)  # the policy would block it
        assert f'href="{PATHWAY}"' in page


async def test_a_pathway_in_plain_words_to_its_own_authority_only(
        ts_env, worker, directory_engine):
    with Session(directory_engine) as db:
        outsider = db.exec(select(Staff).where(
            Staff.authority != "gateshead", col(Staff.demo).is_(True),
            col(Staff.active).is_(True), Staff.kind == "person")).first()
    assert outsider is not None
    async with api_on(directory_engine, ts_env, worker, pages_session_secret=SECRET) as api:
        assert (await api.get(PATHWAY)).headers["location"] == "/pages/sign-in"
        await sign_in(api, "gateshead-lac-tm")
        index = await api.get("/pages/pathways")
        assert index.status_code == 200 and f'href="{PATHWAY}"' in index.text
        page = await api.get(PATHWAY)
        assert page.status_code == 200
        for words in ("SGCP to Looked After Children Service", "Steps",
                      "Transfer within 10 working days of the TM discussion",
                      "if missed: email the Team Manager of sgcp",
                      "Disagreement about the transfer"):
            assert words in page.text, words
        assert (await api.get("/pages/pathways/gateshead/no-such")).status_code == 404

        await sign_in(api, outsider.id)
        hidden = await api.get(PATHWAY)
        assert hidden.status_code == 404 and "SGCP to Looked" not in hidden.text
        assert f'href="{PATHWAY}"' not in (await api.get("/pages/pathways")).text
