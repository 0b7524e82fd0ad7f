"""Gates: the steps of a pathway, who records them, and the ways each can be answered."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from models.protocol_terms import DurationField, DurationUnit, Element, RoleRefs

ACTION = r"^[a-z][a-z0-9-]*$"


class GateKind(StrEnum):
    approval = "approval"  # a manager confirms something was done or agreed
    checklist = "checklist"  # every listed item must be confirmed
    meeting = "meeting"  # held, with attendees


class Outcome(Element):
    """One way a gate can be answered, with its own action name.

    Most gates have one outcome, `done`. A receiving decision has `accepted` and
    `disputed`; a transfer meeting may be `ready`, `postponed` or `qa_rejected`.
    """

    action: str = Field(pattern=ACTION)
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
    # The action gives the date the event happened (the order granted, the ICPC held); the
    # clocks that run from this gate count from that date, not from when it was recorded.
    event_date: bool = False
    names_party: str | None = None  # the action names the team that is this party


class Gate(Element):
    title: str
    kind: GateKind = GateKind.approval
    action: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9-]*$")
    by: RoleRefs = Field(min_length=1)
    # A joint decision: every role in `by` must agree (each records their own agreement, the
    # gate is done when the last one has); without it any one of them may record the gate.
    joint: bool = False
    items: list[str] = []
    if_applicable: list[str] = []  # items that may be marked not applicable, with a reason
    attendees: list[str] = []
    required_attendees: list[str] = []  # a meeting is not held without them
    after: list[str] = []
    # `<gate>:<outcome>`: the step applies only when that gate was answered so; after any
    # other answer it is not needed (and counts as done for what waits on it).
    applies_if: str | None = None
    notify: RoleRefs = []
    outcomes: dict[str, Outcome] = {}

    @model_validator(mode="after")
    def _kind_fits(self) -> Gate:
        if self.kind is GateKind.checklist and not self.items:
            raise ValueError("a checklist gate needs 'items'")
        if self.kind is not GateKind.checklist and self.items:
            raise ValueError("'items' belongs to a gate of kind checklist")
        unknown = [i for i in self.if_applicable if i not in self.items]
        if unknown:
            raise ValueError(f"if_applicable: '{unknown[0]}' is not among the items")
        if self.kind is not GateKind.meeting and self.attendees:
            raise ValueError("'attendees' belongs to a gate of kind meeting")
        missing = [a for a in self.required_attendees if a not in self.attendees]
        if missing:
            raise ValueError(f"required_attendees: '{missing[0]}' is not among the attendees")
        if self.joint and (len(self.by) < 2 or self.kind is GateKind.checklist):
            raise ValueError("joint: a joint decision names two or more roles in 'by' and is "
                             "not a checklist")
        if self.outcomes and self.action:
            raise ValueError("a gate with 'outcomes' names its actions there, not in 'action'")
        if self.outcomes and not any(o.completes for o in self.outcomes.values()):
            raise ValueError("outcomes: at least one outcome must have 'completes: true'")
        for name, outcome in self.outcomes.items():
            if (outcome.follow_up or outcome.min_notice) and not outcome.needs_date:
                raise ValueError(f"outcomes.{name} sets a date only with 'needs_date: true'")
            if outcome.event_date and (outcome.needs_date or not outcome.completes):
                raise ValueError(f"outcomes.{name}.event_date: the date an event happened "
                                 "belongs to an outcome that completes the gate, without "
                                 "'needs_date'")
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

    def condition(self) -> tuple[str, str] | None:
        """(gate, outcome) this step applies under, if it is conditional."""
        if self.applies_if is None:
            return None
        gate, _, outcome = self.applies_if.partition(":")
        return gate, outcome
