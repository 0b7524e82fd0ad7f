"""Bounds on what a request may carry: sizes of strings, lists and maps, and plausible dates.

Sizes are declared on the request models (a 422 naming the field); dates are checked by
the routes against the transfer's anchor, with a sentence saying which date and what
window. A date far off is never a real transfer's, and would make the deadline planner
work out bank holidays for centuries.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import HTTPException, status
from pydantic import Field

NAME_CHARS = 64  # a protocol's name for an authority, pathway, party, item, deadline, team
TEXT_CHARS = 1000  # a reason written into the case store (the note has its own limit)
MANY = 50  # items in a list or map: a checklist's items, a meeting's attendees, parties
SIBLINGS = 20  # children moving together in one transfer
ID_CHARS = 120  # a transfer id: transfer-<authority>-<case id>

Name = Annotated[str, Field(min_length=1, max_length=NAME_CHARS)]

# How far a date may be from the transfer's anchor (e.g. the Team Manager's discussion):
# judged against the anchor, not today, so a transfer's dates mean the same whenever it is
# read. Key dates run from a child's birth (the day they turn 15½, or 18): up to 25 years
# either way. The transfer's own dates (agreed, extended to, a meeting's) lie within
# months; five years is generous.
KEY_DATE_YEARS = 25
TRANSFER_DATE_YEARS = 5
# Anchors from this window only (and at most a year before now: `check_anchor_age`).
FIRST_YEAR, LAST_YEAR = 2000, 2099
# The anchor is recorded when it happens: a year back is already late.
ANCHOR_PAST = timedelta(days=366)


def _years(anchor: date, years: int) -> tuple[date, date]:
    def shift(by: int) -> date:
        try:
            return anchor.replace(year=anchor.year + by)
        except ValueError:  # 29 February
            return anchor.replace(year=anchor.year + by, day=28)

    return shift(-years), shift(years)


def check_dates(anchor: date, dates: dict[str, date | None], *, years: int) -> None:
    """Refuse (422) any of the named dates more than `years` from the anchor's day."""
    first, last = _years(anchor, years)
    for name, day in dates.items():
        if day is not None and not first <= day <= last:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"The {name} {day:%d %B %Y} is not plausible for this "
                                f"transfer: give a date between {first:%d %B %Y} and "
                                f"{last:%d %B %Y}")


def check_anchor_window(anchor_at: datetime, title: str) -> None:
    """Refuse (422) an anchor outside the years the service plans in; checked first, as
    every date of the transfer is judged against it."""
    if not FIRST_YEAR <= anchor_at.year <= LAST_YEAR:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"The start of the clock ({title}, {anchor_at:%d %B %Y}) is not "
                            f"plausible: give a time between {FIRST_YEAR} and {LAST_YEAR}")


def check_anchor_age(anchor_at: datetime, now: datetime, title: str) -> None:
    if anchor_at < now - ANCHOR_PAST:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"The start of the clock ({title}, {anchor_at:%d %B %Y}) is more "
                            "than a year ago: a transfer is started when it is proposed")
