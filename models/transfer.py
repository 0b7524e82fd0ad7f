"""Wire contracts shared by the API, the workflow and the activities.

Everything here crosses Temporal, so it carries identifiers, codes and times
only: never a child's name, date of birth, address or narrative.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, computed_field

from models.protocol import Calendar, DurationField, Pathway, Role, RoleRef

IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"


class Stage(StrEnum):
    proposed = "proposed"  # gates in progress; the sending team is responsible
    ready = "ready"  # every required gate done; waiting for the agreed date
    transferred = "transferred"  # the receiving team is responsible; awaiting allocation
    allocated = "allocated"  # a named worker holds the case; post-transfer duties run
    closed = "closed"
    withdrawn = "withdrawn"
    disputed = "disputed"  # the receiving team disputes; the ladder runs; sending responsible
    redirected = "redirected"  # a dispute sent the case to another team: this transfer ends
    declined = "declined"  # a dispute ended the transfer; the sending team keeps the case


FINAL_STAGES = (Stage.closed, Stage.withdrawn, Stage.redirected, Stage.declined)


class Actor(BaseModel):
    staff_id: str = Field(pattern=IDENTIFIER)
    role: Role
    team: str


class DeadlineStatus(StrEnum):
    pending = "pending"
    met = "met"
    missed = "missed"  # due time passed and the deadline is not yet met
    met_late = "met_late"


class PlanItem(BaseModel):
    """Ask the planner when a clock started at `start` runs out."""

    name: str
    start: AwareDatetime
    within: DurationField


class PlanDate(BaseModel):
    """Ask for the end of the working day on a local date (an agreed transfer date)."""

    name: str
    day: date


class PlannedDue(BaseModel):
    name: str
    due_at: AwareDatetime
    due_local: str  # e.g. "Wed 6 Jan 2027 17:00 GMT", for summaries shown to people


class ResolvedCalendar(BaseModel):
    """A calendar frozen at the start of a transfer: the non-working dates it knows."""

    spec: Calendar
    first_year: int
    last_year: int
    non_working_dates: list[date]


class PlanInstant(BaseModel):
    """Ask only for the local label of a known instant (a paused clock moved on)."""

    name: str
    at: AwareDatetime


class PlanRequest(BaseModel):
    calendar: Calendar
    resolved: ResolvedCalendar | None = None  # None: resolve (and so freeze) the calendar now
    items: list[PlanItem] = []
    dates: list[PlanDate] = []
    instants: list[PlanInstant] = []


class PlanResult(BaseModel):
    # The frozen calendar, returned only when the request did not carry it (the first plan).
    resolved: ResolvedCalendar | None
    dues: list[PlannedDue]


class TransferInput(BaseModel):
    transfer_id: str
    request_id: str
    case_id: str = Field(pattern=IDENTIFIER)
    children: list[str] = Field(min_length=1)
    authority: str
    protocol_version: str
    pathway_id: str
    pathway: Pathway
    calendar: Calendar
    anchor_at: AwareDatetime
    agreed_transfer_date: date | None = None
    started_by: Actor
    teams: dict[str, str] = {}  # the authority's teams, for redirection after a dispute
    parties: dict[str, str] = {}  # a pathway's parties named at the start: party -> team
    key_dates: dict[str, date] = {}  # plain dates given at the start (e.g. turns 15½)
    # External parties chosen at the start: external -> the organisation's identifier (e.g.
    # other_authority -> newcastle), whose address the deployment's address list holds.
    externals: dict[str, str] = {}


class Agreement(BaseModel):
    """One party's agreement to a joint decision."""

    party: str  # the role reference agreed for, e.g. "team_manager@from"
    staff_id: str
    at: datetime
    outcome: str | None = None  # the answer agreed to (a gate may be answered more ways)


class StepView(BaseModel):
    """A step someone records: a gate before the transfer, or an untimed task after it."""

    id: str
    title: str
    action: str
    done: bool = False
    done_at: datetime | None = None
    done_by: str | None = None


class GateView(StepView):
    outcome: str | None = None  # the last answer given (e.g. "postponed", "disputed")
    items: list[str] = []
    not_applicable: list[str] = []  # checklist items marked not applicable (why: in the note)
    attendees: list[str] = []
    event_date: date | None = None  # the date the event happened, when the action gave it
    agreed: list[Agreement] = []  # a joint decision: who has agreed so far
    awaiting: list[str] = []  # a joint decision: who has yet to agree, in words
    not_needed: bool = False  # a conditional step an earlier answer made unnecessary


class TaskView(StepView):
    """A post-transfer task with no timescale: outstanding until done."""

    remind_at: datetime | None = None
    reminded: bool = False


class DeadlineView(BaseModel):
    id: str
    title: str
    due_at: datetime
    due_local: str
    status: DeadlineStatus = DeadlineStatus.pending
    kind: str = "deadline"  # "deadline", "transfer_date", "duty" or "period"
    met_when: str = ""
    start_at: datetime | None = None
    warn_at: list[datetime] = []
    warned: int = 0  # how many of warn_at have been sent
    paused_at: datetime | None = None
    extended: bool = False


class DisputeView(BaseModel):
    ladder: str
    title: str
    gate: str | None  # None: raised by a side at large, not as the answer at a gate
    level: int = 0  # index into the ladder's levels
    level_role: str
    level_due_at: datetime | None = None  # None: the last level was told of the breach
    level_due_local: str = ""
    started_at: datetime
    acknowledged_by: list[str] = []


class TransferView(BaseModel):
    """What a manager sees of a transfer; also its current row in the case store."""

    transfer_id: str
    run_id: str
    case_id: str
    children: list[str]
    authority: str
    pathway: str
    protocol_version: str
    stage: Stage
    from_team: str
    to_team: str
    responsible_team: str
    anchor: str
    anchor_at: datetime
    transfer_date: datetime | None = None
    transferred_at: datetime | None = None
    allocated_worker: str | None = None
    escalation_level: int = 0
    dispute: DisputeView | None = None
    redirected_to: str | None = None
    gates: list[GateView] = []
    deadlines: list[DeadlineView] = []
    tasks: list[TaskView] = []
    parties: dict[str, str] = {}  # party -> the team named for it
    key_dates: dict[str, date] = {}
    externals: dict[str, str] = {}  # external party -> the organisation chosen at the start
    waiting_for: list[str] = []
    seq: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        return any(d.status is DeadlineStatus.missed for d in self.deadlines)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def next_deadline(self) -> DeadlineView | None:
        pending = [d for d in self.deadlines
                   if d.status is DeadlineStatus.pending and d.paused_at is None]
        return min(pending, key=lambda d: d.due_at, default=None)


class GateAction(BaseModel):
    action: str
    actor: Actor
    items: list[str] = []
    not_applicable: list[str] = []  # checklist items not applicable; the reasons are in the note
    attendees: list[str] = []
    on_date: date | None = None  # e.g. the re-presentation date, or the date an event happened
    team: str | None = None  # the team an action names as a party of the pathway
    note_ref: str | None = None


class DisputeAction(BaseModel):
    kind: Literal["acknowledge", "resolve", "raise"]
    actor: Actor
    resolution: Literal["proceed", "redirect", "decline"] | None = None
    to_team: str | None = None
    note_ref: str | None = None


class DeadlineChange(BaseModel):
    kind: Literal["extend", "pause", "resume"]
    deadline: str
    actor: Actor
    until: date | None = None  # extend: the new due date (end of that working day)
    note_ref: str | None = None


class Recalculation(BaseModel):
    """Re-plan pending deadlines on purpose: a bank holiday proclaimed, a protocol corrected."""

    # The reason is kept in the case store (an ActionNote) and only its ref travels here;
    # `reason` as text is what requests sent before that carried, kept so they replay.
    note_ref: str | None = None
    reason: str = Field(default="", max_length=200)
    requested_by: str = Field(pattern=IDENTIFIER)
    # Who asks, as the directory knows them: the workflow checks their role. None only in
    # requests sent before the check existed (their histories replay as they ran).
    actor: Actor | None = None
    pathway: Pathway | None = None  # the corrected pathway; None: keep the current one
    calendar: Calendar | None = None  # the corrected calendar; None: keep the current one


class AllocateAction(BaseModel):
    actor: Actor
    worker_id: str = Field(pattern=IDENTIFIER)
    note_ref: str | None = None


class TransferDateAction(BaseModel):
    actor: Actor
    transfer_date: date
    note_ref: str | None = None


class KeyDateAction(BaseModel):
    """A plain date (e.g. the day the child turns 15½), never the date of birth itself."""

    actor: Actor
    name: str
    day: date
    note_ref: str | None = None


class WithdrawAction(BaseModel):
    actor: Actor
    note_ref: str | None = None


class DutyAction(BaseModel):
    action: str
    actor: Actor
    note_ref: str | None = None


class TeamRole(BaseModel):
    role: Role
    team: str


class ExternalRecipient(BaseModel):
    """An organisation outside the council, told at the address the deployment gives it."""

    external: str  # the protocol's name for it (e.g. cafcass, other_authority)
    organisation: str | None = None  # which one, when chosen at the start (e.g. newcastle)
    role: Role  # whom there the protocol means (the address is the organisation's)


class Notice(BaseModel):
    """An email to every staff member holding `to` in the transfer's teams (and `also`), and
    to the external parties named (`outside`)."""

    to: list[RoleRef]
    also: list[TeamRole] = []
    outside: list[ExternalRecipient] = []
    services: dict[str, str] = {}  # team -> service: a service's managers hold the team's roles
    subject: str
    body: str


class ChangeRecord(BaseModel):
    """One change to a transfer: the event, the new current row and the emails it causes."""

    transfer_id: str
    run_id: str
    seq: int
    at: AwareDatetime
    kind: str
    summary: str
    actor: Actor | None = None
    note_ref: str | None = None
    view: TransferView
    notices: list[Notice] = []


class DeliveryRequest(BaseModel):
    run_id: str
    seq: int


class Opened(BaseModel):
    """The answer to the start request: which request created the run, and its plan."""

    request_id: str
    view: TransferView
