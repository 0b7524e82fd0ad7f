"""Who answers for the whole authority's records: the roles that may export everything held
about a case or a child (subject access).

Narrower than who may read every transfer (api/need_to_know: IROs, Legal Services,
Business Support and panel Chairs read all transfers, as their work needs, but an export
is a disclosure the authority makes). A Head of Service counts only in the authority's own
team: one listed under a service heads that service alone.
"""

from __future__ import annotations

from api.need_to_know import AUTHORITY_TEAM
from models.protocol import Role
from models.tables import Staff

AUTHORITY_LEVEL_ROLES = frozenset({Role.head_of_service, Role.senior_assistant_director,
                                   Role.director, Role.designated_administrator})


def is_authority_level(staff: Staff) -> bool:
    return staff.team == AUTHORITY_TEAM and staff.role in AUTHORITY_LEVEL_ROLES


def authority_level_titles() -> str:
    """The roles, for a refusal a person can read."""
    names = sorted(role.value.replace("_", " ") for role in AUTHORITY_LEVEL_ROLES)
    return ", ".join(names[:-1]) + " or " + names[-1]
