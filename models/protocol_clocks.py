"""Clocks: deadlines with their warnings and breach actions, post-transfer duties, dispute
ladders, and key dates (a plain date, such as a birthday, that starts a clock)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from models.protocol_terms import (
    DurationField,
    Element,
    Role,
    RoleRefs,
    Side,
    Strict,
)

ACTION = r"^[a-z][a-z0-9-]*$"


class BreachAction(Element):
    notify: RoleRefs = []
    # Taken once every gate named here is done: at the breach, or later while the deadline
    # is still missed (e.g. the Service Manager is told when the requirements are met).
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
                       description="anchor, transferred, allocated, a gate or a key date")
    within: DurationField
    met_when: str = "transferred"
    applies_if: str | None = None  # `<gate>:<outcome>`: the clock runs only after that answer
    warn: Warning | None = None
    on_breach: list[BreachAction] = []
    extend_by: RoleRefs = []  # who may extend or pause this clock, giving a reason
    extend_needs_all: bool = False  # an extension holds once every side in extend_by agrees
    late_reason_required: bool = False  # meeting it late needs the reason for the delay


class DutyKind(StrEnum):
    task = "task"  # something to do: reminded when overdue (or, untimed, tracked until done)
    period = "period"  # a time of continued involvement that ends by itself


class Reopen(Strict):
    """Within a period, an action that calls the earlier team back (e.g. concerns escalate)."""

    action: str = Field(pattern=ACTION)
    title: str
    by: RoleRefs = Field(min_length=1)
    notify: RoleRefs = Field(min_length=1)


class Duty(Element):
    """A post-transfer duty. A task without `within` has no timescale: it is shown as
    outstanding and holds the transfer open until done; `remind_after` may add a reminder."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    title: str
    start: Literal["transferred", "anchor"] = Field(default="transferred", alias="from")
    kind: DutyKind = DutyKind.task
    action: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9-]*$")
    by: RoleRefs = []
    within: DurationField | None = None
    remind: RoleRefs = []  # a task: who is reminded when it is overdue (or at remind_after)
    remind_after: DurationField | None = None  # an untimed task: remind once, this long after
    extend_by: RoleRefs = []  # a timed task: who may extend it, giving a reason
    on_end: RoleRefs = []  # a period: who hears that it ended
    reopen: Reopen | None = None

    @model_validator(mode="after")
    def _kind_fits(self) -> Duty:
        if self.kind is DutyKind.period:
            if self.remind or self.action or self.remind_after or self.extend_by:
                raise ValueError("a period has no 'action', 'remind', 'remind_after' or "
                                 "'extend_by'; use 'on_end' and 'reopen'")
            if self.within is None:
                raise ValueError("a period needs 'within'")
            return self
        if not self.by:
            raise ValueError("a task duty needs 'by'")
        if self.within is not None and not self.remind:
            raise ValueError("a task duty with 'within' needs 'remind'")
        if self.within is not None and self.remind_after is not None:
            raise ValueError("remind_after belongs to a task without 'within'")
        if self.within is None and bool(self.remind) != bool(self.remind_after):
            raise ValueError("an untimed task names both 'remind_after' and 'remind', or "
                             "neither")
        if self.within is None and self.extend_by:
            raise ValueError("extend_by belongs to a task with 'within'")
        return self

    @property
    def timed(self) -> bool:
        return self.within is not None


class LadderLevel(Element):
    role: Role
    of: list[Side] = [Side.sending, Side.receiving]
    allow: DurationField | None = None  # none: told that the time allowed was breached


class Ladder(Element):
    """Who a dispute goes to, in turn, and how long each level has to resolve it.

    When a level's time runs out the next level is told; when the last level's time runs
    out (or it has none: it is told that the others' time ran out) the breach is recorded and
    that level is told that the time allowed for resolving it has passed."""

    title: str
    levels: list[LadderLevel] = Field(min_length=1)

    @model_validator(mode="after")
    def _timed_in_turn(self) -> Ladder:
        *earlier, _ = self.levels
        if any(level.allow is None for level in earlier):
            raise ValueError("levels: every level but the last needs 'allow'")
        if len(self.levels) == 1 and self.levels[0].allow is None:
            raise ValueError("levels: a ladder of one level needs its 'allow'")
        return self


class DisputeRule(Element):
    """Either side may dispute the transfer at any stage before it happens."""

    by: RoleRefs = Field(min_length=1)
    ladder: str


class KeyDate(Element):
    """A plain date given by whoever holds the personal details (e.g. the day a child turns
    15½, computed where the date of birth lives): told on the day, and clocks may run from it.
    The date of birth itself never reaches the workflow."""

    title: str
    set_by: RoleRefs = Field(min_length=1)
    notify: RoleRefs = []  # told on the day
