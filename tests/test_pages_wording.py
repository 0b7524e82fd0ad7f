"""The deadline wording of the managers' pages, on fixed dates (never today's)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from models.transfer import DeadlineStatus, DeadlineView
from pages.wording import deadline_row, deadline_words, relative, when, working_days_between

# England and Wales, winter 2026/27: Christmas Fri 25 Dec, Boxing Day's substitute Mon 28,
# New Year's Day Fri 1 Jan.
CLOSED = frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)})


def test_three_working_days_ahead_in_winter() -> None:
    now = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)  # Thu 31 Dec
    due = datetime(2027, 1, 6, 17, 0, tzinfo=UTC)  # Wed 6 Jan: Mon 4, Tue 5, Wed 6
    assert deadline_words(due, now, CLOSED) == "Wed 6 Jan 2027, 17:00 — in 3 working days"


def test_the_year_is_left_out_within_the_same_year() -> None:
    now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert when(datetime(2027, 1, 5, 17, 0, tzinfo=UTC), now) == "Tue 5 Jan, 17:00"


def test_summer_time_shows_london_wall_clock() -> None:
    now = datetime(2027, 6, 7, 8, 0, tzinfo=UTC)  # Mon 7 Jun, BST
    due = datetime(2027, 6, 8, 16, 0, tzinfo=UTC)  # 17:00 BST
    assert deadline_words(due, now, frozenset()) == "Tue 8 Jun, 17:00 — in 1 working day"


def test_bank_holidays_and_weekends_are_not_counted_late() -> None:
    due = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)  # Thu 24 Dec
    now = datetime(2026, 12, 29, 10, 0, tzinfo=UTC)  # Tue 29 Dec: only Tue 29 counts
    assert relative(due, now, CLOSED) == "overdue by 1 working day"
    now = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    assert relative(due, now, CLOSED) == "overdue by 3 working days"


def test_due_and_late_on_the_same_day() -> None:
    due = datetime(2027, 1, 5, 17, 0, tzinfo=UTC)
    assert relative(due, datetime(2027, 1, 5, 9, 0, tzinfo=UTC), CLOSED) == "due today"
    assert relative(due, datetime(2027, 1, 5, 17, 30, tzinfo=UTC), CLOSED) == \
        "overdue since today"


def test_working_days_between_counts_after_the_first_day() -> None:
    assert working_days_between(date(2027, 1, 8), date(2027, 1, 11), CLOSED) == 1  # Fri->Mon
    assert working_days_between(date(2027, 1, 11), date(2027, 1, 8), CLOSED) == 0


def deadline(status: DeadlineStatus, **more: object) -> DeadlineView:
    due = datetime(2027, 1, 5, 17, 0, tzinfo=UTC)
    return DeadlineView(id="transfer_by", title="Transfer", due_at=due,
                        due_local="Tue 5 Jan 2027 17:00 GMT", status=status, **more)


def test_a_met_deadline_is_never_called_overdue() -> None:
    now = datetime(2027, 1, 8, 9, 0, tzinfo=UTC)
    assert deadline_row(deadline(DeadlineStatus.met), now, CLOSED) == ("Tue 5 Jan, 17:00", "met")
    assert deadline_row(deadline(DeadlineStatus.met_late), now, CLOSED) == \
        ("Tue 5 Jan, 17:00", "met late")
    assert deadline_row(deadline(DeadlineStatus.missed), now, CLOSED) == \
        ("Tue 5 Jan, 17:00 — overdue by 3 working days", "missed")


def test_extended_and_paused_deadlines_say_so() -> None:
    now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert deadline_row(deadline(DeadlineStatus.pending, extended=True), now, CLOSED) == \
        ("Tue 5 Jan, 17:00 — in 1 working day", "extended")
    assert deadline_row(deadline(DeadlineStatus.met, extended=True), now, CLOSED)[1] == \
        "met (extended)"
    paused = deadline(DeadlineStatus.pending, paused_at=now)
    assert deadline_row(paused, now, CLOSED)[1] == "paused"
