"""The timeline (pages/timeline.py) and its drawing (pages/timeline_chart.py), with fixed
instants: no clock read.

The stretch is March 2026, across the clocks going forward (01:00 UTC, Sun 29 Mar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from models.transfer import DeadlineStatus, DeadlineView, GateView, Stage, TransferView
from pages.timeline import build, met_at
from pages.timeline_chart import draw_timeline
from tests.test_pages_charts import svg_texts


@dataclass
class Ev:
    at: datetime
    summary: str


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def deadline(id_: str, due: datetime, status: DeadlineStatus, **more: object) -> DeadlineView:
    return DeadlineView(id=id_, title=id_.title(), due_at=due, due_local="", status=status,
                        **more)


def view(*deadlines: DeadlineView, **more: object) -> TransferView:
    fields: dict[str, object] = dict(
        transfer_id="t", run_id="r", case_id="C1", children=["C1"], authority="gateshead",
        pathway="sgcp-to-lac", protocol_version="1", stage=Stage.proposed, from_team="sgcp",
        to_team="lac", responsible_team="sgcp", anchor="tm", anchor_at=utc(20, 10),
        deadlines=list(deadlines))
    return TransferView.model_validate({**fields, **more})


def test_a_missed_deadline_is_drawn_before_its_late_event_and_runs_on_to_now() -> None:
    chart = build(view(deadline("transfer", utc(27, 17), DeadlineStatus.missed,
                                start_at=utc(20, 10))),
                  [Ev(utc(20, 10), "Started"), Ev(utc(30, 9), "Summary authorised"),
                   Ev(utc(30, 15), "Checklist completed")], now=utc(31, 12))
    (mark,) = chart.marks
    (started, late) = chart.days
    assert chart.start < mark.start_at == started.at < mark.due_at < late.at < chart.now \
        < chart.end
    assert (mark.status, mark.symbol, mark.words) == ("missed", "✗", "✗ missed")
    assert mark.end_at == chart.now  # the red dashes run on while it is not met
    # A day's events are one marker, at the first of them; their words are kept in order.
    assert late.count == 2 and late.summaries == ["Summary authorised", "Checklist completed"]
    assert late.at == utc(30, 9) and late.label == "Mon 30 Mar"
    assert mark.due == "Fri 27 Mar 2026 17:00 GMT"


def test_deadlines_are_lanes_in_due_order_with_met_extended_and_paused_marks() -> None:
    v = view(deadline("later", utc(26, 17), DeadlineStatus.pending, extended=True),
             deadline("first", utc(23, 17), DeadlineStatus.met_late,
                      met_when="summary:answered"),
             deadline("held", utc(25, 17), DeadlineStatus.pending, paused_at=utc(22, 9)),
             gates=[GateView(id="summary", title="Summary", action="a", done=True,
                             done_at=utc(24, 11))])
    chart = build(v, [], now=utc(22, 12))
    assert [m.id for m in chart.marks] == ["first", "held", "later"]
    first, held, later = chart.marks
    # Met late: the mark is where it was met, after the due time.
    assert met_at(v, v.deadlines[1]) == utc(24, 11)
    assert first.due_at < first.mark_at == first.end_at == utc(24, 11)
    assert first.words == "✓ met late"
    assert first.met == "Tue 24 Mar 2026 11:00 GMT"
    assert (held.status, held.symbol) == ("paused", "‖")
    assert later.extended and later.words == "○ pending (extended)"
    assert later.mark_at == later.due_at and not later.met


def test_axis_ticks_are_london_midnights_across_the_clock_change() -> None:
    chart = build(view(deadline("due", utc(31, 16), DeadlineStatus.pending),
                       anchor_at=utc(27, 9)), [], now=utc(27, 12))
    labels = {t.label: t.at for t in chart.ticks}
    # GMT until Sun 29 Mar 01:00 UTC; London's midnight is then 23:00 UTC the day before.
    assert labels["Sat 28 Mar"] == utc(28, 0)
    assert labels["Sun 29 Mar"] == utc(29, 0)
    assert labels["Mon 30 Mar"] == utc(29, 23)
    assert labels["Tue 31 Mar"] == utc(30, 23)
    assert list(labels.values()) == sorted(labels.values()) and len(labels) <= 8
    assert chart.marks[0].due == "Tue 31 Mar 2026 17:00 BST"


def test_a_long_stretch_keeps_to_a_few_ticks_and_no_events_is_drawn() -> None:
    chart = build(view(deadline("year", datetime(2027, 3, 1, 17, tzinfo=UTC),
                                DeadlineStatus.pending)), [], now=utc(21, 9))
    assert 2 <= len(chart.ticks) <= 8 and chart.days == []


def test_the_timeline_is_drawn_with_its_words_dates_and_now() -> None:
    v = view(deadline("transfer", utc(27, 17), DeadlineStatus.missed, start_at=utc(20, 10)),
             deadline("later", utc(31, 16), DeadlineStatus.pending, extended=True))
    events = [Ev(utc(20, 10), "Started"), Ev(utc(30, 9), "Summary authorised"),
              Ev(utc(30, 15), "Checklist completed")]
    chart = build(v, events, now=utc(31, 12))
    picture = draw_timeline(chart)
    texts = svg_texts(picture.svg)
    # Status in words and symbols, not colour alone; London dates; the day counts; "Now".
    assert {"Transfer", "✗ missed", "Later", "○ pending (extended)", "Now", "1", "2"} \
        <= set(texts)
    assert [t.label for t in chart.ticks] == [t for t in texts if t in
                                              {t.label for t in chart.ticks}]
    assert "Mon 30 Mar" in texts
    # No trail wording in the picture: that is in the table beside it, for those who may read.
    assert not {"Started", "Summary authorised", "Checklist completed"} & set(texts)
    assert picture.alt == (
        "Timeline of case C1, from Fri 20 Mar 2026 10:00 GMT to Tue 31 Mar 2026 17:00 BST: "
        "2 deadlines (1 missed, 1 pending) against 3 events on 2 days; the tables after it "
        "say the same in words.")
    assert picture.css == "app-timeline-chart"
    assert draw_timeline(build(v, events, now=utc(31, 12))).svg == picture.svg
    assert draw_timeline(build(v, events, now=utc(31, 13))).svg != picture.svg


def test_a_transfer_without_deadlines_or_events_still_draws() -> None:
    picture = draw_timeline(build(view(), [], now=utc(20, 10)))
    assert "Now" in svg_texts(picture.svg)
    assert "0 deadlines against 0 events on 0 days" in picture.alt
