"""How a transfer is started in Temporal: input, business-key id, search attributes, summary."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from activities.working_days import due_at, non_working_dates
from models import search_attributes as sa
from models.days import is_working_day
from models.external_addresses import ExternalAddresses
from models.protocol import Pathway, Protocol
from models.transfer import Actor, Opened, Stage, TransferInput
from workflows.case_transfer import CaseTransferWorkflow
from workflows.wording import in_sentence


def agreed_date_problem(protocol: Protocol, pathway_id: str, anchor_at: datetime,
                        day: date) -> str | None:
    """Why an agreed transfer date given at the start cannot be used, if it cannot.

    The workflow checks a date set later itself; at the start there is no
    workflow yet to refuse it, so the same rules are checked here.
    """
    pathway = protocol.pathways[pathway_id]
    rule = pathway.transfer.agreed_date
    if rule is None:
        return f"Pathway {pathway_id} transfers when its gates are done; it takes no agreed date"
    calendar = protocol.calendar
    anchor_day = anchor_at.astimezone(ZoneInfo(calendar.timezone)).date()
    closed = frozenset(non_working_dates(calendar, range(anchor_day.year, day.year + 2)))
    if day < anchor_day:
        return ("The agreed transfer date cannot be before the start of the clock "
                f"({pathway.anchor.title})")
    if not is_working_day(day, closed):
        return f"{day:%A %d %B %Y} is not a working day; choose a working day for the transfer"
    limit = pathway.deadlines[rule.default]
    if limit.start != "anchor":
        return None  # its limit is known only once that clock starts (a later date shows then
        # as that deadline missed)
    last = due_at(anchor_at, limit.within, calendar, closed)
    if day > last.astimezone(ZoneInfo(calendar.timezone)).date():
        return f"The agreed transfer date must be on or before the deadline: {limit.title}"
    return None


def start_problem(protocol: Protocol, pathway_id: str, parties: dict[str, str],
                  key_dates: dict[str, date], externals: dict[str, str] | None = None,
                  addresses: ExternalAddresses | None = None) -> str | None:
    """Why the parties, key dates or organisations given at the start cannot be used."""
    pathway = protocol.pathways[pathway_id]
    problem = _externals_problem(protocol, pathway_id, externals or {},
                                 addresses or ExternalAddresses())
    if problem:
        return problem
    at_start = {n: p for n, p in pathway.parties.items() if p.named_at == "start"}
    unknown = [n for n in parties if n not in at_start]
    if unknown:
        known = ", ".join(at_start) or "none"
        return f"Pathway {pathway_id} names no such party at the start (its: {known})"
    missing = [p.title for n, p in at_start.items() if n not in parties]
    if missing:
        return f"Name the {missing[0]} in 'parties' ({', '.join(at_start)}: a team code)"
    bad = [t for t in parties.values() if t not in protocol.teams]
    if bad:
        return f"'{bad[0]}' is not a team of {protocol.authority}: " + ", ".join(protocol.teams)
    unknown = [n for n in key_dates if n not in pathway.key_dates]
    if unknown:
        known = ", ".join(pathway.key_dates) or "none"
        return f"Pathway {pathway_id} has no such key date (its key dates: {known})"
    return None


def _externals_problem(protocol: Protocol, pathway_id: str, externals: dict[str, str],
                       addresses: ExternalAddresses) -> str | None:
    pathway = protocol.pathways[pathway_id]
    chosen = {n: e for n, e in pathway.externals.items() if e.chosen_at_start
              and n in (pathway.sending, pathway.receiving, *pathway_named_parties(pathway))}
    unknown = [n for n in externals if n not in chosen]
    if unknown:
        return (f"Pathway {pathway_id} names no such organisation at the start "
                f"(its: {', '.join(chosen) or 'none'})")
    for name, external in chosen.items():
        organisation = externals.get(name)
        known = addresses.organisations(protocol.authority, name)
        if organisation is None:
            return (f"Name the organisation for {in_sentence(external.title)} in 'externals' "
                    f"({name}: one of "
                    f"{', '.join(known) or 'none configured'})")
        if organisation not in known:
            return (f"No address is configured for '{organisation}' as "
                    f"{in_sentence(external.title)} "
                    f"of {protocol.authority} (known: {', '.join(known) or 'none'})")
    return None


def pathway_named_parties(pathway: Pathway) -> list[str]:
    """The external parties a pathway's notices name, besides its sides."""
    return [ref.party for _, ref in pathway.role_refs()
            if ref.party is not None and ref.party in pathway.externals]


def transfer_id_for(authority: str, case_id: str) -> str:
    """The business key: at most one open transfer per case."""
    return f"transfer-{authority}-{case_id}"


async def open_transfer(
    client: Client, *, task_queue: str, protocol: Protocol, pathway_id: str, case_id: str,
    children: list[str], anchor_at: datetime, agreed_transfer_date: date | None,
    started_by: Actor, request_id: str, rpc_timeout: timedelta | None = None,
    parties: dict[str, str] | None = None, key_dates: dict[str, date] | None = None,
    externals: dict[str, str] | None = None,
) -> Opened:
    """Start the transfer (or find the open one for this case) and wait for its plan."""
    pathway = protocol.pathways[pathway_id]
    transfer_id = transfer_id_for(protocol.authority, case_id)
    inp = TransferInput(
        transfer_id=transfer_id, request_id=request_id, case_id=case_id,
        children=children or [case_id], authority=protocol.authority,
        protocol_version=protocol.version, pathway_id=pathway_id, pathway=pathway,
        calendar=protocol.calendar, anchor_at=anchor_at,
        agreed_transfer_date=agreed_transfer_date, started_by=started_by, teams=protocol.teams,
        parties=parties or {}, key_dates=key_dates or {}, externals=externals or {},
    )
    start = WithStartWorkflowOperation(
        CaseTransferWorkflow.run, inp, id=transfer_id, task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(sa.CASE_ID, case_id),
            SearchAttributePair(sa.AUTHORITY, protocol.authority),
            SearchAttributePair(sa.PATHWAY, pathway_id),
            SearchAttributePair(sa.FROM_TEAM, pathway.sending),
            SearchAttributePair(sa.TO_TEAM, pathway.receiving),
            SearchAttributePair(sa.STAGE, Stage.proposed.value),
            SearchAttributePair(sa.RESPONSIBLE_TEAM, pathway.sending),
        ]),
        static_summary=f"Case {case_id}: {protocol.authority} {pathway_id} "
                       f"({pathway.sending} → {pathway.receiving})",
    )
    opened: Opened = await client.execute_update_with_start_workflow(
        CaseTransferWorkflow.opened_plan, start_workflow_operation=start,
        id=f"open:{request_id}",
        rpc_timeout=rpc_timeout)
    return opened
