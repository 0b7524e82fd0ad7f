"""The protocol schema: one YAML file per local authority, validated at load.

A protocol says, as data, what a pathway needs (gates), what makes the case
move (the transfer rule), which clocks run (deadlines) and what happens when
they run out (breach actions), and which duties follow the transfer. The
workflow interprets it; nothing about any one authority lives in Python.

The vocabulary (roles, sides, durations) is in `protocol_terms`, the gates in
`protocol_steps`, the clocks and ladders in `protocol_clocks`, the parties,
services, organisations outside the council and the weekly meeting in
`protocol_parties`; every name is importable from here.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from models.protocol_clocks import (
    BreachAction as BreachAction,
)
from models.protocol_clocks import (
    Deadline as Deadline,
)
from models.protocol_clocks import (
    DisputeRule as DisputeRule,
)
from models.protocol_clocks import (
    Duty as Duty,
)
from models.protocol_clocks import (
    DutyKind as DutyKind,
)
from models.protocol_clocks import (
    KeyDate as KeyDate,
)
from models.protocol_clocks import (
    Ladder as Ladder,
)
from models.protocol_clocks import (
    LadderLevel as LadderLevel,
)
from models.protocol_clocks import (
    Reopen as Reopen,
)
from models.protocol_clocks import (
    Warning as Warning,
)
from models.protocol_parties import External as External
from models.protocol_parties import Party as Party
from models.protocol_parties import Service as Service
from models.protocol_parties import WeeklyMeeting as WeeklyMeeting
from models.protocol_steps import Gate as Gate
from models.protocol_steps import GateKind as GateKind
from models.protocol_steps import Outcome as Outcome
from models.protocol_terms import DEFAULT_CASE_ID, CaseIdPattern
from models.protocol_terms import IDENT as IDENT
from models.protocol_terms import Duration as Duration
from models.protocol_terms import DurationField as DurationField
from models.protocol_terms import DurationUnit as DurationUnit
from models.protocol_terms import Element as Element
from models.protocol_terms import Role as Role
from models.protocol_terms import RoleRef as RoleRef
from models.protocol_terms import RoleRefs as RoleRefs
from models.protocol_terms import Side as Side
from models.protocol_terms import Strict as Strict

PATHWAY_ID = r"^[a-z][a-z0-9-]*$"
FIXED_EVENTS = {"anchor", "transferred", "allocated"}


class Calendar(Element):
    bank_holidays: Literal["england-and-wales"] = "england-and-wales"
    closure_days: list[date] = []
    timezone: Literal["Europe/London"] = "Europe/London"
    working_day_ends: time = time(17, 0)


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


class Notices(Element):
    started: RoleRefs = []
    transferred: RoleRefs = []
    allocated: RoleRefs = []
    withdrawn: RoleRefs = []


class Anchor(Strict):
    name: str = Field(pattern=IDENT)
    title: str


class Pathway(Element):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    title: str
    sending: str = Field(alias="from")
    receiving: str = Field(alias="to")  # a closure's is its own team (filled in at load)
    # The case closes at the transfer point instead of moving: no receiving team, no allocation.
    closes: bool = False
    # The case stays where it is: the steps and notices complete (e.g. another council told
    # of a child placed or moving into its area) and responsibility does not move.
    stays: bool = False
    anchor: Anchor
    gates: dict[str, Gate]
    transfer: TransferRule
    allocation: Allocation | None = None  # none when the case closes or leaves the council
    deadlines: dict[str, Deadline] = {}
    after_transfer: dict[str, Duty] = {}
    notify: Notices = Notices()
    start_by: RoleRefs = Field(min_length=1)
    withdraw_by: RoleRefs = Field(min_length=1)
    parties: dict[str, Party] = {}
    key_dates: dict[str, KeyDate] = {}
    raise_dispute: DisputeRule | None = None
    ladders: dict[str, Ladder] = {}  # filled in from the protocol's ladders at load
    services: dict[str, str] = {}  # team -> its service; filled in from the protocol at load
    externals: dict[str, External] = {}  # filled in from the protocol's externals at load
    # The weekly meeting whose cut-off holds late papers over (filled in at load, for the
    # pathways that go through it).
    meeting: WeeklyMeeting | None = None

    @model_validator(mode="before")
    @classmethod
    def _closure_keeps_its_team(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("closes") is True and "to" not in data:
            return {**data, "to": data.get("from")}
        return data

    def external(self, ref: RoleRef) -> str | None:
        """The external party a role reference names, if it names one."""
        if ref.side is Side.party:
            return ref.party if ref.party in self.externals else None
        if ref.side in (Side.sending, Side.receiving):
            team = self.sending if ref.side is Side.sending else self.receiving
            return team if team in self.externals else None
        return None

    @property
    def leaves(self) -> bool:
        """The case leaves the council (to an external party): no allocation here."""
        return self.receiving in self.externals and not self.stays

    @property
    def moves(self) -> bool:
        """Responsibility moves at the transfer point (not a closure, not a notification)."""
        return not (self.closes or self.stays)

    @model_validator(mode="after")
    def _references_resolve(self) -> Pathway:
        self._check_sides()
        gates = set(self.gates)
        for name in [*self.gates, *self.parties, *self.key_dates]:
            if not re.match(IDENT, name):
                raise ValueError(f"gates.{name} must be named in lower_snake_case")
        for name, gate in self.gates.items():
            self._check_gate(name, gate, gates)
        for other in self.transfer.requires:
            if other not in gates:
                raise ValueError(f"transfer.requires names unknown gate '{other}'")
        if self.transfer.agreed_date and self.transfer.agreed_date.default not in self.deadlines:
            raise ValueError(
                f"transfer.agreed_date.default names unknown deadline "
                f"'{self.transfer.agreed_date.default}'"
            )
        for name, deadline in self.deadlines.items():
            self._check_deadline(name, deadline, gates)
        for name, party in self.parties.items():
            if party.named_at != "start" and not any(
                    o.names_party == name for o in self.outcomes(party.named_at).values()
                    if party.named_at in gates):
                raise ValueError(f"parties.{name}.named_at must be 'start' or a gate with an "
                                 f"outcome that has names_party: {name}")
        names = [*self.actions(), *(self.duty_action(d) for d in self.after_transfer
                                    if self.after_transfer[d].kind is DutyKind.task),
                 *(d.reopen.action for d in self.after_transfer.values() if d.reopen)]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"gates: two steps share the action name '{doubled[0]}'")
        return self

    def _check_sides(self) -> None:
        if self.closes and self.receiving != self.sending:
            raise ValueError("to: a pathway that closes the case has no receiving team")
        if self.sending in self.externals and self.receiving in self.externals:
            raise ValueError("to: one side of a pathway must be a team of the council")
        if self.closes and self.stays:
            raise ValueError("stays: a pathway that closes the case cannot also keep it")
        if not self.moves or self.leaves:
            if self.allocation is not None:
                why = ("closes" if self.closes else "stays where it is" if self.stays
                       else "leaves the council")
                raise ValueError(f"allocation: the case is not allocated here when it {why}")
        elif self.allocation is None:
            raise ValueError("allocation.by is required: who allocates a worker once the case "
                             "arrives")
        for where, ref in self.role_refs():
            name = self.external(ref)
            if name and where.split("[")[0].endswith("by"):
                raise ValueError(f"{where} names {self.externals[name].title}, which is outside "
                                 "the council: nobody in the directory acts for it (a role of "
                                 "ours records what it does)")

    def _check_gate(self, name: str, gate: Gate, gates: set[str]) -> None:
        for other in gate.after:
            if other not in gates:
                raise ValueError(f"gates.{name}.after names unknown gate '{other}'")
        condition = gate.condition()
        if condition is not None:
            self._check_condition(f"gates.{name}.applies_if", condition)
            if condition[0] == name:
                raise ValueError(f"gates.{name}.applies_if cannot name the gate itself")
        for oname, outcome in gate.outcomes.items():
            if outcome.follow_up_met_by and outcome.follow_up_met_by not in gates:
                raise ValueError(f"gates.{name}.outcomes.{oname}.follow_up_met_by names "
                                 f"unknown gate '{outcome.follow_up_met_by}'")
            for other in outcome.reopens:
                if other not in gates:
                    raise ValueError(f"gates.{name}.outcomes.{oname}.reopens names "
                                     f"unknown gate '{other}'")
            if outcome.names_party and outcome.names_party not in self.parties:
                raise ValueError(f"gates.{name}.outcomes.{oname}.names_party names unknown "
                                 f"party '{outcome.names_party}'")

    def _check_condition(self, where: str, condition: tuple[str, str]) -> None:
        gate, outcome = condition
        if gate not in self.gates or outcome not in self.outcomes(gate):
            raise ValueError(f"{where} must be '<gate>:<outcome>' of a gate of this pathway")

    def _check_deadline(self, name: str, deadline: Deadline, gates: set[str]) -> None:
        milestones = gates | {"transferred", "allocated"}
        answered = {f"{g}:answered" for g in gates}  # any outcome of the gate, not only done
        if deadline.met_when not in milestones | answered:
            raise ValueError(
                f"deadlines.{name}.met_when must be a gate, '<gate>:answered', "
                "'transferred' or 'allocated'"
            )
        if deadline.start not in milestones | {"anchor"} | set(self.key_dates):
            raise ValueError(f"deadlines.{name}.from must be 'anchor', 'transferred', "
                             "'allocated', a gate or a key date")
        if deadline.applies_if is not None:
            gate, outcome = deadline.applies_if.partition(":")[::2]
            self._check_condition(f"deadlines.{name}.applies_if", (gate, outcome))
            starts = self.gates.get(deadline.start)
            if deadline.start != gate and (starts is None or (
                    gate not in starts.after and starts.applies_if != deadline.applies_if)):
                raise ValueError(f"deadlines.{name}.applies_if: the clock must start at "
                                 f"'{gate}' or at a gate recorded after it")
        for action in deadline.on_breach:
            for other in action.only_if:
                if other not in gates:
                    raise ValueError(
                        f"deadlines.{name}.on_breach.only_if names unknown gate '{other}'"
                    )

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
        ladders = [o.dispute for g in self.gates for o in self.outcomes(g).values() if o.dispute]
        return ladders + ([self.raise_dispute.ladder] if self.raise_dispute else [])

    def role_refs(self) -> list[tuple[str, RoleRef]]:
        """Every role reference the pathway makes, with where (to check the teams it names)."""
        found: list[tuple[str, RoleRefs]] = [
            ("start_by", self.start_by), ("withdraw_by", self.withdraw_by),
            *([("allocation.by", self.allocation.by)] if self.allocation else []),
            *((f"notify.{n}", getattr(self.notify, n))
              for n in ("started", "transferred", "allocated", "withdrawn"))]
        for name, gate in self.gates.items():
            found += [(f"gates.{name}.by", gate.by), (f"gates.{name}.notify", gate.notify)]
            found += [(f"gates.{name}.outcomes.{o}.notify", outcome.notify)
                      for o, outcome in gate.outcomes.items()]
        for name, deadline in self.deadlines.items():
            found.append((f"deadlines.{name}.extend_by", deadline.extend_by))
            found += [(f"deadlines.{name}.on_breach[{i}].notify", action.notify)
                      for i, action in enumerate(deadline.on_breach)]
            if deadline.warn:
                found.append((f"deadlines.{name}.warn.notify", deadline.warn.notify))
        for name, duty in self.after_transfer.items():
            found += [(f"after_transfer.{name}.{f}", getattr(duty, f))
                      for f in ("by", "remind", "on_end", "extend_by")]
            if duty.reopen:
                found += [(f"after_transfer.{name}.reopen.by", duty.reopen.by),
                          (f"after_transfer.{name}.reopen.notify", duty.reopen.notify)]
        for name, key in self.key_dates.items():
            found += [(f"key_dates.{name}.set_by", key.set_by),
                      (f"key_dates.{name}.notify", key.notify)]
        if self.transfer.agreed_date:
            found.append(("transfer.agreed_date.set_by", self.transfer.agreed_date.set_by))
        if self.raise_dispute:
            found.append(("raise_dispute.by", self.raise_dispute.by))
        return [(f"{where}[{i}]", ref) for where, refs in found for i, ref in enumerate(refs)]


class Protocol(Strict):
    authority: str = Field(pattern=IDENT)
    title: str
    version: str
    source: str = ""
    case_id_pattern: CaseIdPattern = DEFAULT_CASE_ID  # checked at the start: case, children
    calendar: Calendar = Calendar()
    teams: dict[str, str] = Field(min_length=2)
    services: dict[str, Service] = {}
    externals: dict[str, External] = {}
    ladders: dict[str, Ladder] = {}
    weekly_meeting: WeeklyMeeting | None = None
    pathways: dict[str, Pathway] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _share_ladders(cls, data: object) -> object:
        # Each pathway carries the ladders it may start and the teams' services, so a
        # running transfer keeps them.
        if isinstance(data, dict) and isinstance(data.get("pathways"), dict):
            ladders = data.get("ladders") or {}
            externals = data.get("externals") or {}
            services = data.get("services") or {}
            of_team = {team: name for name, service in services.items()
                       if isinstance(service, dict)
                       for team in service.get("teams") or []}
            for pathway in data["pathways"].values():
                if isinstance(pathway, dict) and "ladders" not in pathway:
                    pathway["ladders"] = ladders
                if isinstance(pathway, dict) and "externals" not in pathway and externals:
                    pathway["externals"] = externals
                meeting = data.get("weekly_meeting")
                if (isinstance(pathway, dict) and isinstance(meeting, dict)
                        and meeting.get("late_papers_held_over")
                        and meeting.get("agenda_gate") in (pathway.get("gates") or {})):
                    pathway.setdefault("meeting", meeting)
                if isinstance(pathway, dict) and "services" not in pathway and of_team:
                    pathway["services"] = of_team
        return data

    def is_case_id(self, value: str) -> bool:
        return re.fullmatch(self.case_id_pattern, value) is not None

    @model_validator(mode="after")
    def _teams_exist(self) -> Protocol:
        for name in self.externals:
            if name in self.teams:
                raise ValueError(f"externals.{name} has the name of a team")
        for name, service in self.services.items():
            if name in self.teams:
                raise ValueError(f"services.{name} has the name of a team")
            for team in service.teams:
                if team not in self.teams:
                    raise ValueError(f"services.{name}.teams names unknown team '{team}'")
        for name, pathway in self.pathways.items():
            if not re.match(PATHWAY_ID, name):
                raise ValueError(f"pathways.{name} must be named in lower-kebab-case")
            for side, team in (("from", pathway.sending), ("to", pathway.receiving)):
                if team not in self.teams and team not in self.externals:
                    raise ValueError(f"pathways.{name}.{side} names unknown team '{team}'")
            for ladder in pathway.disputes():
                if ladder not in self.ladders:
                    raise ValueError(f"pathways.{name}.gates names unknown ladder '{ladder}'")
                outside = [side.value for level in self.ladders[ladder].levels
                           for side in level.of
                           if (pathway.sending if side.value == "from" else pathway.receiving)
                           in self.externals and side.value in ("from", "to")]
                if outside:
                    raise ValueError(f"pathways.{name}: its dispute ladder '{ladder}' has a "
                                     f"level on the '{outside[0]}' side, which is outside the "
                                     "council (a dispute ladder runs between our own managers)")
            for where, ref in pathway.role_refs():
                if ref.party and ref.party not in pathway.parties and ref.party not in self.teams \
                        and ref.party not in self.externals:
                    raise ValueError(f"pathways.{name}.{where} must name a party of the "
                                     f"pathway, a team of the authority or an external party, "
                                     f"not '{ref.party}'")
        return self
