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
    director = "director"
    iro = "iro"


class Side(StrEnum):
    sending = "from"
    receiving = "to"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
            raise ValueError(f"'{value}' must be written role@from or role@to")
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
    hours = "hours"


_DURATION = re.compile(r"^\s*(\d+)\s+(working days?|days?|weeks?|hours?)\s*$")


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
            "'72 hours', '10 days' or '6 weeks'"
        )
    amount, unit = match.groups()
    unit = unit if unit.endswith("s") else unit + "s"
    return {"amount": int(amount), "unit": unit}


DurationField = Annotated[Duration, BeforeValidator(_parse_duration)]


class Calendar(Strict):
    bank_holidays: Literal["england-and-wales"] = "england-and-wales"
    closure_days: list[date] = []
    timezone: Literal["Europe/London"] = "Europe/London"
    working_day_ends: time = time(17, 0)


class GateKind(StrEnum):
    approval = "approval"  # a manager confirms something was done or agreed
    checklist = "checklist"  # every listed item must be confirmed
    meeting = "meeting"  # held (with attendees) or recorded as not held


class Gate(Strict):
    title: str
    kind: GateKind = GateKind.approval
    action: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9-]*$")
    by: RoleRefs = Field(min_length=1)
    items: list[str] = []
    attendees: list[str] = []
    after: list[str] = []
    notify: RoleRefs = []

    @model_validator(mode="after")
    def _kind_fits(self) -> Gate:
        if self.kind is GateKind.checklist and not self.items:
            raise ValueError("a checklist gate needs 'items'")
        if self.kind is not GateKind.checklist and self.items:
            raise ValueError("'items' belongs to a gate of kind checklist")
        if self.kind is not GateKind.meeting and self.attendees:
            raise ValueError("'attendees' belongs to a gate of kind meeting")
        return self


class AgreedDate(Strict):
    default: str = Field(description="the deadline whose due time is the default date")
    set_by: RoleRefs = Field(min_length=1)


class TransferRule(Strict):
    when: Literal["agreed_date", "gates"]
    requires: list[str] = []
    agreed_date: AgreedDate | None = None

    @model_validator(mode="after")
    def _date_given(self) -> TransferRule:
        if self.when == "agreed_date" and self.agreed_date is None:
            raise ValueError("'when: agreed_date' needs an 'agreed_date' block")
        return self


class Allocation(Strict):
    by: RoleRefs = Field(min_length=1)


class BreachAction(Strict):
    notify: RoleRefs = Field(min_length=1)
    only_if: list[str] = []


class Deadline(Strict):
    title: str
    start: Literal["anchor", "transferred"] = Field(default="anchor", alias="from")
    within: DurationField
    met_when: str = "transferred"
    on_breach: list[BreachAction] = []


class Duty(Strict):
    title: str
    action: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9-]*$")
    by: RoleRefs = Field(min_length=1)
    within: DurationField
    remind: RoleRefs = Field(min_length=1)


class Notices(Strict):
    started: RoleRefs = []
    transferred: RoleRefs = []
    allocated: RoleRefs = []
    withdrawn: RoleRefs = []


class Anchor(Strict):
    name: str = Field(pattern=IDENT)
    title: str


class Pathway(Strict):
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

    @model_validator(mode="after")
    def _references_resolve(self) -> Pathway:
        gates = set(self.gates)
        for name in self.gates:
            if not re.match(IDENT, name):
                raise ValueError(f"gate name '{name}' must be lower_snake_case")
        for name, gate in self.gates.items():
            for other in gate.after:
                if other not in gates:
                    raise ValueError(f"gates.{name}.after names unknown gate '{other}'")
        for other in self.transfer.requires:
            if other not in gates:
                raise ValueError(f"transfer.requires names unknown gate '{other}'")
        if self.transfer.agreed_date and self.transfer.agreed_date.default not in self.deadlines:
            raise ValueError(
                f"transfer.agreed_date.default names unknown deadline "
                f"'{self.transfer.agreed_date.default}'"
            )
        milestones = gates | {"transferred", "allocated"}
        for name, deadline in self.deadlines.items():
            if deadline.met_when not in milestones:
                raise ValueError(
                    f"deadlines.{name}.met_when must be a gate, 'transferred' or 'allocated'"
                )
            for action in deadline.on_breach:
                for other in action.only_if:
                    if other not in gates:
                        raise ValueError(
                            f"deadlines.{name}.on_breach.only_if names unknown gate '{other}'"
                        )
        actions = [gate.action or name.replace("_", "-") for name, gate in self.gates.items()]
        if len(set(actions)) != len(actions):
            raise ValueError("two gates share one action name")
        return self

    def gate_action(self, gate_id: str) -> str:
        return self.gates[gate_id].action or gate_id.replace("_", "-")

    def duty_action(self, duty_id: str) -> str:
        return self.after_transfer[duty_id].action or duty_id.replace("_", "-")


class Protocol(Strict):
    authority: str = Field(pattern=IDENT)
    title: str
    version: str
    source: str = ""
    calendar: Calendar = Calendar()
    teams: dict[str, str] = Field(min_length=2)
    pathways: dict[str, Pathway] = Field(min_length=1)

    @model_validator(mode="after")
    def _teams_exist(self) -> Protocol:
        for name, pathway in self.pathways.items():
            if not re.match(PATHWAY_ID, name):
                raise ValueError(f"pathway name '{name}' must be lower-kebab-case")
            for side, team in (("from", pathway.sending), ("to", pathway.receiving)):
                if team not in self.teams:
                    raise ValueError(f"pathways.{name}.{side} names unknown team '{team}'")
        return self
