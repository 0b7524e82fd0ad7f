"""Pure rules the workflow applies: who may act, where a manager stands on a ladder, warnings.

No I/O and no clock: the workflow passes in what they need, so they are
deterministic and easy to test on their own.
"""

from __future__ import annotations

from datetime import datetime

from models.protocol import Ladder, Pathway, RoleRef, Side
from models.transfer import Actor
from workflows.wording import actor_words, role_words


class Refusal(Exception):
    """An action refused, with why: the workflow turns it into the Update's failure, which
    the API answers with 409 (WrongStage), 403 (NotPermitted) or 422 (InvalidInput)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def rejected(kind: str, message: str) -> Refusal:
    return Refusal(kind, message)


def team_of(pathway: Pathway, side: Side) -> str | None:
    """The team a side names; None for the whole authority."""
    if side is Side.authority:
        return None
    return pathway.sending if side is Side.sending else pathway.receiving


def holds(actor: Actor, ref: RoleRef, pathway: Pathway) -> bool:
    team = team_of(pathway, ref.side)
    return actor.role == ref.role and (team is None or actor.team == team)


def check_actor(pathway: Pathway, refs: list[RoleRef], actor: Actor, doing: str) -> None:
    if not any(holds(actor, ref, pathway) for ref in refs):
        raise rejected("NotPermitted", f"Only the {who(pathway, refs)} may {doing}; you are "
                                       f"signed in as {actor_words(actor)}")


def who(pathway: Pathway, refs: list[RoleRef]) -> str:
    return role_words(refs, pathway.sending, pathway.receiving)


def level_refs(ladder: Ladder, level: int) -> list[RoleRef]:
    spec = ladder.levels[level]
    return [RoleRef(role=spec.role, side=side) for side in spec.of]


def levels_of(ladder: Ladder, actor: Actor, pathway: Pathway) -> list[int]:
    """Every ladder level the actor stands at (levels may share a role)."""
    return [i for i in range(len(ladder.levels))
            if any(holds(actor, ref, pathway) for ref in level_refs(ladder, i))]


def warn_times(start: datetime, due: datetime, fractions: list[float]) -> list[datetime]:
    """Instants at the given fractions of the time between start and due (elapsed time)."""
    return [start + (due - start) * f for f in sorted(fractions)]
