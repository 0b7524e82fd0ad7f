"""Search attributes operators use in the Temporal UI. Registered by the worker at start-up."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

CASE_ID = SearchAttributeKey.for_keyword("CaseId")
AUTHORITY = SearchAttributeKey.for_keyword("Authority")
PATHWAY = SearchAttributeKey.for_keyword("Pathway")
STAGE = SearchAttributeKey.for_keyword("TransferStage")
FROM_TEAM = SearchAttributeKey.for_keyword("FromTeam")
TO_TEAM = SearchAttributeKey.for_keyword("ToTeam")
RESPONSIBLE_TEAM = SearchAttributeKey.for_keyword("ResponsibleTeam")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadlineAt")
OVERDUE = SearchAttributeKey.for_bool("Overdue")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")

ALL: list[SearchAttributeKey[Any]] = [
    CASE_ID, AUTHORITY, PATHWAY, STAGE, FROM_TEAM, TO_TEAM, RESPONSIBLE_TEAM,
    NEXT_DEADLINE, OVERDUE, ESCALATION_LEVEL,
]
