"""Need to know: which transfers a member of staff may read.

The rule, in full:

* Staff whose role serves the whole authority read every transfer of their authority.
  Those roles are the ones the protocols let act on any transfer (`role@authority`:
  Designated Administrator, Business Support, Head of Service, IRO, Legal Services),
  the top of the dispute ladders (Senior Assistant Director, and the Director above
  them) and the Chair of the transfer panel, who hears any case put to it.
* A Head of Service reads the whole authority only when listed under the authority
  itself (team `authority`, as the demo directory lists the meeting's chairs); a Head of
  Service listed under a service, or in one team, has that service's teams or that team.
* Everyone else (team managers, social workers, service managers, practitioners,
  personal advisors) reads the transfers of their team; staff listed under a service
  (the protocol's `services`) read the transfers of every team of that service.
* A team's transfers are those it sends, receives or holds, or has held or been named
  on at any point, in any run of the transfer (`TransferTeam`, written by the case
  store with every change), and those whose pathway names the team to act
  (`role@<team>`, e.g. the MASH Team Manager on a transfer from Early Help to Duty).
* Whoever a pathway lets act on any of its transfers by role alone (`role@authority`,
  e.g. a Head of Service of one service recording St Helens' weekly meeting) reads that
  pathway's transfers: need to know never hides a transfer its protocol asks you to act on.

Anyone else is told the transfer does not exist, as if it did not: a refusal that said
"not yours" would tell them it is there.

Pure: no I/O. The API passes in the directory entry and the authority's protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.protocol import Pathway, Protocol, Role, Side

AUTHORITY_TEAM = "authority"  # the 'team' of staff who serve the whole authority

# Whatever their team: these roles act, decide or oversee across the authority.
AUTHORITY_WIDE_ROLES = frozenset({
    Role.senior_assistant_director, Role.director, Role.designated_administrator,
    Role.business_support, Role.iro, Role.legal_services, Role.chair,
})


@dataclass(frozen=True)
class Scope:
    """What one member of staff may read: the whole authority, or these teams' transfers."""

    authority: str
    teams: frozenset[str] | None  # None: every transfer of the authority
    role: str = ""

    @property
    def whole_authority(self) -> bool:
        return self.teams is None


def covers_authority(role: str, team: str) -> bool:
    """Whether the role, held in this team, serves the whole authority."""
    if role in AUTHORITY_WIDE_ROLES:
        return True
    return role == Role.head_of_service and team == AUTHORITY_TEAM


def scope_of(authority: str, role: str, team: str, protocol: Protocol | None) -> Scope:
    """The scope of a member of staff of `authority` (protocol: that authority's, if any)."""
    if covers_authority(role, team):
        return Scope(authority, None, role)
    teams = {team}
    service = protocol.services.get(team) if protocol is not None else None
    if service is not None:
        teams.update(service.teams)
    return Scope(authority, frozenset(teams), role)


def named_teams(pathway: Pathway) -> frozenset[str]:
    """The teams a pathway names to act on its transfers besides its two sides (a
    `role@<team>` that is not one of the pathway's parties)."""
    return frozenset(ref.party for _, ref in pathway.role_refs()
                     if ref.side is Side.party and ref.party is not None
                     and ref.party not in pathway.parties)


def names_to_act(pathway: Pathway, teams: frozenset[str], role: str) -> bool:
    """Whether the pathway names one of these teams to act, or lets the role act on any
    of its transfers (`role@authority`)."""
    if named_teams(pathway) & teams:
        return True
    return any(ref.side is Side.authority and ref.role == role
               for _, ref in pathway.role_refs())


def pathways_naming(protocol: Protocol | None, scope: Scope) -> list[str]:
    """The pathways of a protocol that name the scope's teams or role to act, sorted."""
    if protocol is None or scope.teams is None:
        return []
    teams = scope.teams
    return sorted(pid for pid, pathway in protocol.pathways.items()
                  if names_to_act(pathway, teams, scope.role))


def may_read(scope: Scope, authority: str, involved: set[str] | frozenset[str],
             pathway: Pathway | None) -> bool:
    """Whether `scope` reaches a transfer of `authority` that has involved these teams
    (all its runs'), on this pathway (None: a pathway the protocol no longer has)."""
    if authority != scope.authority:
        return False
    if scope.teams is None:
        return True
    if scope.teams & involved:
        return True
    return pathway is not None and names_to_act(pathway, scope.teams, scope.role)
