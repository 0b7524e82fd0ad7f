"""The timeline chart's geometry (pages/timeline.py), with fixed instants: no clock read.

The stretch is March 2026, across the clocks going forward (01:00 UTC, Sun 29 Mar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from models.transfer import DeadlineStatus, DeadlineView, GateView, Stage, TransferView
from pages.timeline import LEFT, RIGHT, build, met_at


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
    assert LEFT < mark.x_start == started.x < mark.x_due < late.x < chart.now_x < RIGHT
    assert (mark.status, mark.symbol, mark.words) == ("missed", "✗", "✗ missed")
    assert mark.x_end == chart.now_x  # the red dashes run on while it is not met
    # A day's events are one marker, at the first of them; their words are kept in order.
    assert late.count == 2 and late.summaries == ["Summary authorised", "Checklist completed"]
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
    assert [m.y for m in chart.marks] == sorted(m.y for m in chart.marks)
    first, held, later = chart.marks
    # Met late: the mark is where it was met, after the due time.
    assert met_at(v, v.deadlines[1]) == utc(24, 11)
    assert first.x_due < first.x_mark and first.words == "✓ met late"
    assert first.met == "Tue 24 Mar 2026 11:00 GMT"
    assert (held.status, held.symbol) == ("paused", "‖")
    assert later.extended and later.words == "○ pending (extended)"
    assert later.x_mark == later.x_due and not later.met


def test_axis_ticks_are_london_midnights_across_the_clock_change() -> None:
    chart = build(view(deadline("due", utc(31, 16), DeadlineStatus.pending),
                       anchor_at=utc(27, 9)), [], now=utc(27, 12))
    labels = {t.label: t.at for t in chart.ticks}
    # GMT until Sun 29 Mar 01:00 UTC; London's midnight is then 23:00 UTC the day before.
    assert labels["Sat 28 Mar"] == utc(28, 0)
    assert labels["Sun 29 Mar"] == utc(29, 0)
    assert labels["Mon 30 Mar"] == utc(29, 23)
    assert labels["Tue 31 Mar"] == utc(30, 23)
    x = {t.label: t.x for t in chart.ticks}
    assert list(x.values()) == sorted(x.values()) and len(x) <= 8
    # The day the clocks change is 23 hours long, and the axis shows it so.
    sunday, saturday = x["Mon 30 Mar"] - x["Sun 29 Mar"], x["Sun 29 Mar"] - x["Sat 28 Mar"]
    assert abs(sunday / saturday - 23 / 24) < 0.01
    assert chart.marks[0].due == "Tue 31 Mar 2026 17:00 BST"


def test_a_long_stretch_keeps_to_a_few_ticks_and_no_events_is_drawn() -> None:
    chart = build(view(deadline("year", datetime(2027, 3, 1, 17, tzinfo=UTC),
                                DeadlineStatus.pending)), [], now=utc(21, 9))
    assert 2 <= len(chart.ticks) <= 8 and chart.days == []
