"""Who and what a pathway involves beyond its two teams: parties named per transfer, the
services teams belong to, organisations outside the council, and the standing weekly meeting."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field

from models.protocol_terms import Element, Role


class Party(Element):
    """A team beyond the two the case moves between (e.g. the team that made the original
    decision), named when the transfer starts or by a gate's action (`names_party`)."""

    title: str
    named_at: str = "start"  # "start" or the gate whose answer names it


class External(Element):
    """An organisation outside the council (another local authority, CAFCASS, Adult Services):
    nobody in our directory acts for it; it is told by email, at the address the deployment
    configures for it (external-addresses.yaml), with identifiers only. Our side records what
    it does."""

    title: str
    # Which one (e.g. which local authority) is named at the start, by an identifier that
    # the deployment's address list knows.
    chosen_at_start: bool = False


class Service(Element):
    """A group of teams under one Head of Service (or Service Manager): a manager whose
    directory team is the service holds their role for each of its teams."""

    title: str
    teams: list[str] = Field(min_length=1)


class WeeklyMeeting(Element):
    """A standing meeting (e.g. St Helens' Case Transfer Meeting), run as a Temporal Schedule."""

    title: str
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
    papers_due: time  # local time on that day; moved to the nearest working day if closed
    chair: Role  # the chair rotates weekly among the authority's staff in this role
    agenda_gate: str  # transfers waiting on this gate are on the agenda
    # Papers (the gates before the agenda gate) filed after a week's papers-due time are held
    # over: the meeting gate cannot be recorded for the case until the next week's meeting.
    late_papers_held_over: bool = False
