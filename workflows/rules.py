"""Pure rules the workflow applies: who may act, where a manager stands on a ladder, warnings.

No I/O and no clock: the workflow passes in what they need, so they are
deterministic and easy to test on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from models.protocol import Ladder, Pathway, Role, RoleRef, Side
from models.transfer import Actor, Recalculation
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


Parties = Mapping[str, str]  # a pathway's parties named so far: party -> team


def team_of(pathway: Pathway, side: Side) -> str | None:
    """The team a side names; None for the whole authority."""
    if side is Side.authority:
        return None
    return pathway.sending if side is Side.sending else pathway.receiving


def teams_for(ref: RoleRef, pathway: Pathway, parties: Parties | None = None
              ) -> list[str] | None:
    """The directory teams whose staff hold `ref`: the team a side or party names, and the
    service it belongs to (its Head of Service may be listed under the service). None: anyone
    in the authority; empty: nobody yet (a party not yet named)."""
    if ref.side is Side.authority:
        return None
    if ref.side is Side.party:
        assert ref.party is not None
        if ref.party in pathway.parties:
            named = (parties or {}).get(ref.party)
            return [named] if named else []
        return [ref.party]  # one of the authority's teams, by name
    team = pathway.sending if ref.side is Side.sending else pathway.receiving
    service = pathway.services.get(team)
    return [team, service] if service else [team]


def holds(actor: Actor, ref: RoleRef, pathway: Pathway, parties: Parties | None = None
          ) -> bool:
    teams = teams_for(ref, pathway, parties)
    return actor.role == ref.role and (teams is None or actor.team in teams)


def check_actor(pathway: Pathway, refs: list[RoleRef], actor: Actor, doing: str,
                parties: Parties | None = None) -> None:
    if not any(holds(actor, ref, pathway, parties) for ref in refs):
        raise rejected("NotPermitted", f"Only the {who(pathway, refs, parties)} may {doing}; "
                                       f"you are signed in as {actor_words(actor)}")


def who(pathway: Pathway, refs: list[RoleRef], parties: Parties | None = None) -> str:
    names = {name: (parties or {}).get(name) or f"the {party.title}"
             for name, party in pathway.parties.items()}
    return role_words(refs, pathway.sending, pathway.receiving, names)


def level_refs(ladder: Ladder, level: int) -> list[RoleRef]:
    spec = ladder.levels[level]
    return [RoleRef(role=spec.role, side=side) for side in spec.of]


def levels_of(ladder: Ladder, actor: Actor, pathway: Pathway) -> list[int]:
    """Every ladder level the actor stands at (levels may share a role)."""
    return [i for i in range(len(ladder.levels))
            if any(holds(actor, ref, pathway) for ref in level_refs(ladder, i))]


def joint_parties(refs: list[RoleRef], actor: Actor, pathway: Pathway,
                  parties: Parties | None = None) -> list[str]:
    """The parties to a joint decision the actor may agree for (as `role@side` strings)."""
    return [str(ref) for ref in refs if holds(actor, ref, pathway, parties)]


def warn_times(start: datetime, due: datetime, fractions: list[float]) -> list[datetime]:
    """Instants at the given fractions of the time between start and due (elapsed time)."""
    return [start + (due - start) * f for f in sorted(fractions)]


# Recalculation moves every pending deadline of a transfer: a decision for a service manager
# (or head of service) of either side, or for the authority's senior leaders; the operator
# running ops.recalculate names one (--by), looked up in the directory.
RECALCULATE_BY = [RoleRef(role=role, side=side)
                  for role in (Role.service_manager, Role.head_of_service)
                  for side in (Side.sending, Side.receiving)] + [
    RoleRef(role=role, side=Side.authority)
    for role in (Role.senior_assistant_director, Role.director)]


def check_recalculation_by(pathway: Pathway, req: Recalculation,
                           parties: Parties | None = None) -> None:
    """Who asks: named with their role and team, and one who may recalculate."""
    if req.actor is None:
        raise rejected("NotPermitted", "Say who asks for the recalculation, with their role "
                                       f"and team: the {who(pathway, RECALCULATE_BY)} may")
    if req.actor.staff_id != req.requested_by:
        raise rejected("InvalidInput", f"The recalculation is asked by {req.requested_by} "
                                       f"but signed by {req.actor.staff_id}")
    check_actor(pathway, RECALCULATE_BY, req.actor, "recalculate the deadlines", parties)


def check_starter(pathway: Pathway, pathway_id: str, started_by: Actor) -> None:
    """The starter holds a role that may start this pathway (the API checks it too; this
    holds for a client reaching Temporal directly)."""
    if not any(holds(started_by, ref, pathway) for ref in pathway.start_by):
        raise rejected("NotPermitted", f"Only the {who(pathway, pathway.start_by)} may start "
                                       f"a {pathway_id} transfer; it was started by "
                                       f"{actor_words(started_by)}")
