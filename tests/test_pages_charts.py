"""The pages' charts as pictures (pages/figures, pages/charts): SVG images that decode, carry
their labels and values as text, say what they show in their alt text, and come out the
same, byte for byte, from the same data."""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import matplotlib
import pytest

from pages.charts import bar_chart, line_chart, summary, wrap
from pages.figures import Picture, number

IMG = re.compile(r'<img class="(?P<css>[^"]+)" src="data:image/svg\+xml;base64,(?P<data>[^"]+)" '
                 r'alt="(?P<alt>[^"]*)"')


def svg_texts(svg: bytes) -> list[str]:
    """The words of an SVG's text elements, in document order (svg.fonttype none)."""
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return ["".join(e.itertext()).strip() for e in root.iter("{http://www.w3.org/2000/svg}text")]


def pictures(page: str) -> list[tuple[str, str, bytes]]:
    """Each chart image of a page: its class, its alt text and its SVG."""
    return [(m["css"], html.unescape(m["alt"]), base64.b64decode(m["data"]))
            for m in IMG.finditer(page)]


def test_a_bar_chart_is_an_svg_image_with_its_labels_and_values_as_text() -> None:
    chart = bar_chart("Breaches <by> deadline", ["transfer_by", "allocate_by"], [2, None])
    texts = svg_texts(chart.svg)
    assert {"transfer_by", "allocate_by", "2", "none"} <= set(texts)
    assert b"<script" not in chart.svg and b"href=\"http" not in chart.svg
    (css, alt, svg), = pictures(str(chart.__html__()))
    assert css == "app-chart" and svg == chart.svg
    assert alt == "Breaches <by> deadline: 2 each; the table gives each figure."
    assert "&lt;by&gt;" in chart.__html__()  # the alt text is escaped in the page


def test_the_same_data_gives_the_same_bytes() -> None:
    def draw() -> Picture:
        return line_chart("Within", ["2027-05", "2027-06"], [50, 75.5], unit="%", top=100)

    assert draw().svg == draw().svg
    assert draw().svg != line_chart("Within", ["2027-05", "2027-06"], [50, 75],
                                    unit="%", top=100).svg
    # Drawn from many threads at once (as FastAPI's pool would), each is still the same.
    with ThreadPoolExecutor(4) as pool:
        assert set(c.svg for c in pool.map(lambda _: draw(), range(8))) == {draw().svg}


def test_the_line_leaves_out_months_with_nothing_decided() -> None:
    chart = line_chart("Within", ["2027-05", "2027-06", "2027-07"], [50, None, 100],
                       unit="%", top=100)
    texts = svg_texts(chart.svg)
    assert {"2027-05", "2027-06", "2027-07", "50%", "100%"} <= set(texts)
    assert "none" not in texts  # no point, no label, for the month with nothing decided
    assert "120%" not in texts  # the axis stops at its top, whatever room the labels need
    assert chart.alt.startswith("Within, 2027-05 to 2027-07: highest 100% (2027-07), "
                                "lowest 50% (2027-05)")


def test_crowded_labels_are_all_there() -> None:
    months = [f"2027-{m:02d}" for m in range(1, 13)]
    chart = bar_chart("Median", months, list(range(12)))
    assert set(months) <= set(svg_texts(chart.svg))


def test_alt_texts_summarise_in_one_sentence() -> None:
    assert summary("Days", ["a", "b", "c"], [3, 7, 7], series=True) == \
        "Days, a to c: highest 7 (b), lowest 3 (a); the table gives each figure."
    assert summary("Endings", ["agreed", "withdrawn"], [1, 2]) == \
        "Endings: highest 2 (withdrawn), lowest 1 (agreed); the table gives each figure."
    assert summary("Days", ["a"], [None], series=True) == \
        "Days, a: no figures yet; the table gives the details."
    assert [number(v, "%") for v in (None, 4, 4.25, 66.66)] == ["none", "4%", "4.2%", "66.7%"]


def test_a_chart_of_nothing_is_refused_so_the_page_says_so_in_words() -> None:
    with pytest.raises(ValueError):
        bar_chart("Nothing", [], [])
    with pytest.raises(ValueError):
        line_chart("Nothing", [], [])


def test_long_labels_wrap_at_their_word_breaks() -> None:
    assert wrap("transfer_within_10_working_days", 16) == "transfer_within_\n10_working_days"
    assert wrap("allocate_by", 16) == "allocate_by"
    assert wrap("Level 3", 4) == "Level\n3"
    assert wrap("averyveryverylongword", 8) == "averyveryverylongword"
    # Five labels to a chart 640 wide: some 15 characters to a line.
    chart = bar_chart("Breaches", ["transfer_within_10_working_days_of_tm", "b", "c", "d", "e"],
                      [2, 1, 1, 1, 1])
    texts = svg_texts(chart.svg)
    assert "b" in texts and "transfer_within_10_working_days_of_tm" not in texts
    assert {"transfer_", "within_10_", "working_days_", "of_tm"} <= set(texts)


def test_drawing_leaves_matplotlibs_settings_as_they_were() -> None:
    before = dict(matplotlib.rcParams)
    bar_chart("Median", ["2027-05"], [4])
    assert dict(matplotlib.rcParams) == before
