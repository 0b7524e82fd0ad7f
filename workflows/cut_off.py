"""A weekly meeting's cut-off for papers (St Helens: the QA template "filed ... by 10.00am every
Monday morning"): papers filed after a week's cut-off wait for the next week's meeting.

Pure, like the other checks: the instants come from `models.days` (London time without the tz
database) and the transfer's own frozen calendar.
"""

from __future__ import annotations

from datetime import datetime

from models.days import london_label, weekly_instants
from workflows.rules import rejected
from workflows.state import TransferState
from workflows.weekly_meeting import papers_before


def check_papers_in_time(s: TransferState, gate_id: str, now: datetime) -> None:
    """Papers filed after a week's cut-off go to the next week's meeting, not this one."""
    meeting = s.pathway.meeting
    if meeting is None or gate_id != meeting.agenda_gate:
        return
    filed = max((at for g in papers_before(s.pathway, gate_id) if (at := s.gates[g].done_at)),
                default=None)
    if filed is None:
        return
    cut_off, following = weekly_instants(now, meeting.weekday, meeting.papers_due,
                                         s.closed_days())
    if filed > cut_off:
        raise rejected("WrongStage", f"Held over: the papers were filed at {london_label(filed)}, "
                                     f"after the cut-off for this week's {meeting.title} "
                                     f"({london_label(cut_off)}); the case goes to the next one, "
                                     f"papers due {london_label(following)}")

