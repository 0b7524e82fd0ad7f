"""The protocol schema: one YAML file per local authority, validated at load.

A protocol says, as data, what a pathway needs (gates), what makes the case
move (the transfer rule), which clocks run (deadlines) and what happens when
they run out (breach actions), and which duties follow the transfer. The
workflow interprets it; nothing about any one authority lives in Python.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

IDENT = r"^[a-z][a-z0-9_]*$"
PATHWAY_ID = r"^[a-z][a-z0-9-]*$"


class Role(StrEnum):
    social_worker = "social_worker"
    team_manager = "team_manager"
    service_manager = "service_manager"
    head_of_service = "head_of_service"
    senior_assistant_director = "senior_assistant_director"
    director = "director"
    iro = "iro"


class Side(StrEnum):
    sending = "from"
    receiving = "to"
    authority = "authority"  # anyone holding the role in the authority (e.g. a chair)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Element(Strict):
    """A part of a protocol that may carry a council's own reading of its seed.

    `local_choice` says why, where the seed is silent or ambiguous and the protocol had
    to choose (a time the seed does not give, who is told, a reading of unclear words);
    `make check-protocols` lists every one so the council can confirm them.
    """

    local_choice: str | None = None


class RoleRef(Strict):
    """A role on one side of the transfer, written `team_manager@from`."""

    role: Role
    side: Side

    def __str__(self) -> str:
        return f"{self.role.value}@{self.side.value}"


def _parse_role_ref(value: object) -> object:
    if isinstance(value, str):
        role, sep, side = value.partition("@")
        if not sep:
            raise ValueError(f"'{value}' must be written role@from, role@to or role@authority")
        return {"role": role, "side": side}
    return value


RoleRefField = Annotated[RoleRef, BeforeValidator(_parse_role_ref)]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str | dict) else value


RoleRefs = Annotated[list[RoleRefField], BeforeValidator(_as_list)]


class DurationUnit(StrEnum):
    working_days = "working days"
    days = "days"
    weeks = "weeks"
    months = "months"
    hours = "hours"


_DURATION = re.compile(r"^\s*(\d+)\s+(working days?|days?|weeks?|months?|hours?)\s*$")


class Duration(Strict):
    """`10 working days`, `72 hours`, `10 days` or `6 weeks`."""

    amount: int = Field(ge=1)
    unit: DurationUnit

    def __str__(self) -> str:
        unit = self.unit.value
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


def _parse_duration(value: object) -> object:
    if isinstance(value, dict | Duration):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        shown = f"'{value}'" if isinstance(value, str) else repr(value)
        raise ValueError(
            f"{shown} is not a duration; write e.g. '10 working days', "
            "'72 hours', '10 days', '6 weeks' or '4 months'"
        )
    amount, unit = match.groups()
    unit = unit if unit.endswith("s") else unit + "s"
    return {"amount": int(amount), "unit": unit}


DurationField = Annotated[Duration, BeforeValidator(_parse_duration)]


class Calendar(Element):
    bank_holidays: Literal["england-and-wales"] = "england-and-wales"
    closure_days: list[date] = []
    timezone: Literal["Europe/London"] = "Europe/London"
    working_day_ends: time = time(17, 0)


class GateKind(StrEnum):
    approval = "approval"  # a manager confirms something was done or agreed
    checklist = "checklist"  # every listed item must be confirmed
    meeting = "meeting"  # held, with attendees


class Outcome(Element):
    """One way a gate can be answered, with its own action name.

    Most gates have one outcome, `done`. A receiving decision has `accepted` and
    `disputed`; a transfer meeting may be `ready`, `postponed` or `qa_rejected`.
    """

    action: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    completes: bool = False  # the gate is done
    reopens: list[str] = []  # gates to do again (e.g. the QA template, after it is rejected)
    dispute: str | None = None  # the ladder this outcome starts
    needs_date: bool = False  # e.g. the re-presentation date of a postponed case
    min_notice: DurationField | None = None  # the date must be at least this far ahead
    follow_up: str | None = None  # title of the deadline set on that date (met by the gate)
    follow_up_met_by: str | None = None  # another gate that meets the follow-up instead
    follow_up_before: DurationField | None = None  # due this long before the date given
    reason_required: bool = False  # the manager must say why (kept in the case store)
    notify: RoleRefs = []


class Gate(Element):
    title: str
    kind: GateKind = GateKind.approval
    action: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9-]*$")
    by: RoleRefs = Field(min_length=1)
    items: list[str] = []
    attendees: list[str] = []
    required_attendees: list[str] = []  # a meeting is not held without them
    after: list[str] = []
    notify: RoleRefs = []
    outcomes: dict[str, Outcome] = {}

    @model_validator(mode="after")
    def _kind_fits(self) -> Gate:
        if self.kind is GateKind.checklist and not self.items:
            raise ValueError("a checklist gate needs 'items'")
        if self.kind is not GateKind.checklist and self.items:
            raise ValueError("'items' belongs to a gate of kind checklist")
        if self.kind is not GateKind.meeting and self.attendees:
            raise ValueError("'attendees' belongs to a gate of kind meeting")
        missing = [a for a in self.required_attendees if a not in self.attendees]
        if missing:
            raise ValueError(f"required_attendees: '{missing[0]}' is not among the attendees")
        if self.outcomes and self.action:
            raise ValueError("a gate with 'outcomes' names its actions there, not in 'action'")
        if self.outcomes and not any(o.completes for o in self.outcomes.values()):
            raise ValueError("outcomes: at least one outcome must have 'completes: true'")
        for name, outcome in self.outcomes.items():
            if (outcome.follow_up or outcome.min_notice) and not outcome.needs_date:
                raise ValueError(f"outcomes.{name} sets a date only with 'needs_date: true'")
            if (outcome.follow_up_met_by or outcome.follow_up_before) and not outcome.follow_up:
                raise ValueError(f"outcomes.{name}: follow_up_met_by and follow_up_before "
                                 "belong with 'follow_up'")
            before = outcome.follow_up_before
            if before and before.unit not in (DurationUnit.working_days, DurationUnit.days):
                raise ValueError(f"outcomes.{name}.follow_up_before: give days or working days")
            if outcome.min_notice and outcome.min_notice.unit not in (DurationUnit.working_days,
                                                                      DurationUnit.days):
                raise ValueError(f"outcomes.{name}.min_notice: give days or working days")
        return self


class AgreedDate(Element):
    default: str = Field(description="the deadline whose due time is the default date")
    set_by: RoleRefs = Field(min_length=1)


class TransferRule(Element):
    when: Literal["agreed_date", "gates"]
    requires: list[str] = []
    agreed_date: AgreedDate | None = None

    @model_validator(mode="after")
    def _date_given(self) -> TransferRule:
        if self.when == "agreed_date" and self.agreed_date is None:
            raise ValueError("'when: agreed_date' needs an 'agreed_date' block")
        return self


class Allocation(Element):
    by: RoleRefs = Field(min_length=1)


class BreachAction(Element):
    notify: RoleRefs = []
    only_if: list[str] = []
    transfer: bool = False  # move the case now, whatever is still outstanding

    @model_validator(mode="after")
    def _does_something(self) -> BreachAction:
        if not self.notify and not self.transfer:
            raise ValueError("a breach action must 'notify' someone or 'transfer: true'")
        return self


class Warning(Element):
    """Notices before the breach, at fractions of the time allowed (e.g. [0.5, 0.8])."""

    at: list[Annotated[float, Field(gt=0, lt=1)]] = Field(min_length=1)
    notify: RoleRefs = Field(min_length=1)


class Deadline(Element):
    title: str
    start: str = Field(default="anchor", alias="from",
                       description="anchor, transferred, allocated or a gate's name")
    within: DurationField
    met_when: str = "transferred"
    warn: Warning | None = None
    on_breach: list[BreachAction] = []
    extend_by: RoleRefs = []  # who may extend or pause this clock, giving a reason
    extend_needs_all: bool = False  # an extension holds once every side in extend_by agrees
    late_reason_required: bool = False  # meeting it late needs the reason for the delay


class DutyKind(StrEnum):
    task = "task"  # something to do: reminded when overdue
    period = "period"  # a time of continued involvement that ends by itself


class Reopen(Strict):
    """Within a period, an action that calls the earlier team back (e.g. concerns escalate)."""

    action: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    by: RoleRefs = Field(min_length=1)
    notify: RoleRefs = Field(min_length=1)


class Duty(Element):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    title: str
    start: Literal["transferred", "anchor"] = Field(default="transferred", alias="from")
    kind: DutyKind = DutyKind.task
    action: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9-]*$")
    by: RoleRefs = []
    within: DurationField
    remind: RoleRefs = []  # a task: who is reminded when it is overdue
    on_end: RoleRefs = []  # a period: who hears that it ended
    reopen: Reopen | None = None

    @model_validator(mode="after")
    def _kind_fits(self) -> Duty:
        if self.kind is DutyKind.task and not (self.by and self.remind):
            raise ValueError("a task duty needs 'by' and 'remind'")
        if self.kind is DutyKind.period and (self.remind or self.action):
            raise ValueError("a period has no 'action' or 'remind'; use 'on_end' and 'reopen'")
        return self


class Notices(Element):
    started: RoleRefs = []
    transferred: RoleRefs = []
    allocated: RoleRefs = []
    withdrawn: RoleRefs = []


class Anchor(Strict):
    name: str = Field(pattern=IDENT)
    title: str


class LadderLevel(Element):
    role: Role
    of: list[Side] = [Side.sending, Side.receiving]
    allow: DurationField | None = None  # none: the last level, told that the limit was breached


class Ladder(Element):
    """Who a dispute goes to, in turn, and how long each level has to resolve it."""

    title: str
    levels: list[LadderLevel] = Field(min_length=2)

    @model_validator(mode="after")
    def _last_level_is_told(self) -> Ladder:
        *timed, last = self.levels
        if any(level.allow is None for level in timed):
            raise ValueError("levels: every level but the last needs 'allow'")
        if last.allow is not None:
            raise ValueError("levels: the last level is told of the breach; it has no 'allow'")
        return self


class Pathway(Element):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    title: str
    sending: str = Field(alias="from")
    receiving: str = Field(alias="to")
    anchor: Anchor
    gates: dict[str, Gate]
    transfer: TransferRule
    allocation: Allocation
    deadlines: dict[str, Deadline] = {}
    after_transfer: dict[str, Duty] = {}
    notify: Notices = Notices()
    start_by: RoleRefs = Field(min_length=1)
    withdraw_by: RoleRefs = Field(min_length=1)
    ladders: dict[str, Ladder] = {}  # filled in from the protocol's ladders at load

    @model_validator(mode="after")
    def _references_resolve(self) -> Pathway:
        gates = set(self.gates)
        for name in self.gates:
            if not re.match(IDENT, name):
                raise ValueError(f"gates.{name} must be named in lower_snake_case")
        for name, gate in self.gates.items():
            for other in gate.after:
                if other not in gates:
                    raise ValueError(f"gates.{name}.after names unknown gate '{other}'")
            for oname, outcome in gate.outcomes.items():
                if outcome.follow_up_met_by and outcome.follow_up_met_by not in gates:
                    raise ValueError(f"gates.{name}.outcomes.{oname}.follow_up_met_by names "
                                     f"unknown gate '{outcome.follow_up_met_by}'")
                for other in outcome.reopens:
                    if other not in gates:
                        raise ValueError(f"gates.{name}.outcomes.{oname}.reopens names "
                                         f"unknown gate '{other}'")
        for other in self.transfer.requires:
            if other not in gates:
                raise ValueError(f"transfer.requires names unknown gate '{other}'")
        if self.transfer.agreed_date and self.transfer.agreed_date.default not in self.deadlines:
            raise ValueError(
                f"transfer.agreed_date.default names unknown deadline "
                f"'{self.transfer.agreed_date.default}'"
            )
        milestones = gates | {"transferred", "allocated"}
        answered = {f"{g}:answered" for g in gates}  # any outcome of the gate, not only done
        for name, deadline in self.deadlines.items():
            if deadline.met_when not in milestones | answered:
                raise ValueError(
                    f"deadlines.{name}.met_when must be a gate, '<gate>:answered', "
                    "'transferred' or 'allocated'"
                )
            if deadline.start not in milestones | {"anchor"}:
                raise ValueError(f"deadlines.{name}.from must be 'anchor', 'transferred', "
                                 "'allocated' or a gate")
            for action in deadline.on_breach:
                for other in action.only_if:
                    if other not in gates:
                        raise ValueError(
                            f"deadlines.{name}.on_breach.only_if names unknown gate '{other}'"
                        )
        names = [*self.actions(), *(self.duty_action(d) for d in self.after_transfer
                                    if self.after_transfer[d].kind is DutyKind.task),
                 *(d.reopen.action for d in self.after_transfer.values() if d.reopen)]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"gates: two steps share the action name '{doubled[0]}'")
        return self

    def outcomes(self, gate_id: str) -> dict[str, Outcome]:
        gate = self.gates[gate_id]
        return dict(gate.outcomes) or {
            "done": Outcome(action=gate.action or gate_id.replace("_", "-"), completes=True)}

    def actions(self) -> dict[str, tuple[str, str]]:
        """Every gate action: action name -> (gate, outcome)."""
        return {o.action: (gid, name) for gid in self.gates
                for name, o in self.outcomes(gid).items()}

    def gate_action(self, gate_id: str) -> str:
        """The action that completes the gate."""
        return next(o.action for o in self.outcomes(gate_id).values() if o.completes)

    def duty_action(self, duty_id: str) -> str:
        return self.after_transfer[duty_id].action or duty_id.replace("_", "-")

    def disputes(self) -> list[str]:
        return [o.dispute for g in self.gates for o in self.outcomes(g).values() if o.dispute]


class WeeklyMeeting(Element):
    """A standing meeting (e.g. St Helens' Case Transfer Meeting), run as a Temporal Schedule."""

    title: str
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
    papers_due: time  # local time on that day; moved to the nearest working day if closed
    chair: Role  # the chair rotates weekly among the authority's staff in this role
    agenda_gate: str  # transfers waiting on this gate are on the agenda


class Protocol(Strict):
    authority: str = Field(pattern=IDENT)
    title: str
    version: str
    source: str = ""
    calendar: Calendar = Calendar()
    teams: dict[str, str] = Field(min_length=2)
    ladders: dict[str, Ladder] = {}
    weekly_meeting: WeeklyMeeting | None = None
    pathways: dict[str, Pathway] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _share_ladders(cls, data: object) -> object:
        # Each pathway carries the ladders it may start, so a running transfer keeps them.
        if isinstance(data, dict) and isinstance(data.get("pathways"), dict):
            ladders = data.get("ladders") or {}
            for pathway in data["pathways"].values():
                if isinstance(pathway, dict) and "ladders" not in pathway:
                    pathway["ladders"] = ladders
        return data

    @model_validator(mode="after")
    def _teams_exist(self) -> Protocol:
        for name, pathway in self.pathways.items():
            if not re.match(PATHWAY_ID, name):
                raise ValueError(f"pathways.{name} must be named in lower-kebab-case")
            for side, team in (("from", pathway.sending), ("to", pathway.receiving)):
                if team not in self.teams:
                    raise ValueError(f"pathways.{name}.{side} names unknown team '{team}'")
            for ladder in pathway.disputes():
                if ladder not in self.ladders:
                    raise ValueError(f"pathways.{name}.gates names unknown ladder '{ladder}'")
        return self
