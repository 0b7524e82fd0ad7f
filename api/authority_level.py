"""Who acts for the whole authority: the roles that may see any of its cases' records.

The one place this set is kept (subject access exports use it). A Head of Service counts
only in the authority's own team: one listed under a service heads that service alone.
"""

from __future__ import annotations

from models.protocol import Role
from models.tables import Staff

AUTHORITY_TEAM = "authority"  # the `team` of staff who serve the whole authority (ops/demo)
AUTHORITY_LEVEL_ROLES = frozenset({Role.head_of_service, Role.senior_assistant_director,
                                   Role.director, Role.designated_administrator})


def is_authority_level(staff: Staff) -> bool:
    return staff.team == AUTHORITY_TEAM and staff.role in AUTHORITY_LEVEL_ROLES


def authority_level_titles() -> str:
    """The roles, for a refusal a person can read."""
    names = sorted(role.value.replace("_", " ") for role in AUTHORITY_LEVEL_ROLES)
    return ", ".join(names[:-1]) + " or " + names[-1]
