"""The words a protocol is written in: roles, the sides of a transfer, durations.

Shared by the protocol schema and the wire contracts; importing it does no work.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

IDENT = r"^[a-z][a-z0-9_]*$"
# A case or child id the start accepts unless the protocol says otherwise: up to 8 letters,
# then a digit, then letters, digits, '-' or '_' (C100234, LCS1234-2, MOS123456). A name has
# no digit, or more letters before its first one, so it cannot pass for an id.
DEFAULT_CASE_ID = r"^[A-Za-z]{0,8}[0-9][A-Za-z0-9_-]{0,38}$"


def _case_id_pattern(value: str) -> str:
    try:
        pattern = re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    if pattern.fullmatch("") or pattern.fullmatch("Jane Smith"):
        raise ValueError("must not accept an empty id or words with a space (a name)")
    return value


# An authority's case-id format: a regular expression the whole id must match.
CaseIdPattern = Annotated[str, AfterValidator(_case_id_pattern)]


class Role(StrEnum):
    social_worker = "social_worker"
    team_manager = "team_manager"
    service_manager = "service_manager"
    head_of_service = "head_of_service"
    senior_assistant_director = "senior_assistant_director"
    director = "director"
    iro = "iro"
    senior_practitioner = "senior_practitioner"
    advanced_practitioner = "advanced_practitioner"
    personal_advisor = "personal_advisor"
    legal_services = "legal_services"
    designated_administrator = "designated_administrator"
    business_support = "business_support"
    chair = "chair"  # chairs a panel or conference (e.g. a Case Transfer Meeting)
    contact = "contact"  # an organisation outside the council, at its address (contact@cafcass)


class Side(StrEnum):
    sending = "from"
    receiving = "to"
    authority = "authority"  # anyone holding the role in the authority (e.g. a chair)
    party = "party"  # a named team: a pathway's party (named at the start or by an action),
    # or one of the authority's teams (e.g. the adoption team), written role@<name>


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
    """A role on one side of the transfer, written `team_manager@from`; or in a named team,
    `team_manager@original_team` (a party of the pathway) or `team_manager@adoption`."""

    role: Role
    side: Side
    party: str | None = None  # with side `party`: the party's or the team's name

    def __str__(self) -> str:
        return f"{self.role.value}@{self.party if self.side is Side.party else self.side.value}"


def _parse_role_ref(value: object) -> object:
    if isinstance(value, str):
        role, sep, side = value.partition("@")
        if not sep:
            raise ValueError(f"'{value}' must be written role@from, role@to, role@authority "
                             "or role@<team or party>")
        if side in {s.value for s in Side} - {Side.party.value}:
            return {"role": role, "side": side}
        if not re.match(IDENT, side):
            raise ValueError(f"'{value}': '{side}' is not a side, team or party name")
        return {"role": role, "side": Side.party, "party": side}
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


