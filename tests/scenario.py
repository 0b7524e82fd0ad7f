"""A harness for protocol scenarios: open any pathway, act as any demo staff member.

Actions go through `api.actions.update_for`, the same mapping the HTTP API uses,
so a scenario takes each step exactly as a manager's request would.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from api.actions import ActionBody, note_text, update_for
from api.starting import open_transfer
from config import ROOT
from models.protocol import Protocol, Role
from models.protocol_files import load_protocols
from models.transfer import Actor, DeadlineStatus, DeadlineView, TransferView
from ops.demo import AUTHORITY_ROLES, AUTHORITY_TEAM, SERVICE_ROLES, TEAM_ROLES, demo_staff
from tests.mail import Mailbox
from tests.transfers import eventually
from workflows.case_transfer import CaseTransferWorkflow

PROTOCOLS = load_protocols(ROOT / "protocols")
_TEAM_SHORT = {short: role for short, role, _ in TEAM_ROLES + SERVICE_ROLES}
_AUTHORITY_SHORT = {short: role for short, role, _ in AUTHORITY_ROLES}


def staff(authority: str, who: str) -> Actor:
    """A demo staff member: `staff("nottingham", "cic-tm")` or `staff("nottingham", "hos-1")`."""
    if who in _AUTHORITY_SHORT:
        return Actor(staff_id=f"{authority}-{who}", role=Role(_AUTHORITY_SHORT[who]),
                     team=AUTHORITY_TEAM)
    team, _, short = who.rpartition("-")
    return Actor(staff_id=f"{authority}-{who}", role=Role(_TEAM_SHORT[short]), team=team)


def mail(authority: str, who: str) -> str:
    return f"{authority}-{who}@{authority}.example"


class Scenario:
    """One transfer on one pathway, driven as its managers would drive it."""

    def __init__(self, client: Client, worker: Worker, authority: str, pathway: str,
                 protocol: Protocol | None = None) -> None:
        self.client, self.worker = client, worker
        self.authority, self.pathway_id = authority, pathway
        self.protocol = protocol or PROTOCOLS[authority]
        self.pathway = self.protocol.pathways[pathway]
        self.handle: WorkflowHandle[Any, Any] | None = None

    async def open(self, anchor_at: datetime, *, by: str | None = None, case_id: str = "C1",
                   children: list[str] | None = None, agreed: date | None = None,
                   parties: dict[str, str] | None = None,
                   key_dates: dict[str, date] | None = None,
                   externals: dict[str, str] | None = None) -> TransferView:
        starter = by or f"{self.pathway.sending}-tm"
        opened = await open_transfer(
            self.client, task_queue=self.worker.task_queue, protocol=self.protocol,
            pathway_id=self.pathway_id, case_id=case_id, children=children or [case_id],
            anchor_at=anchor_at, agreed_transfer_date=agreed,
            started_by=staff(self.authority, starter), request_id=str(uuid.uuid4()),
            parties=parties or {}, key_dates=key_dates or {}, externals=externals or {})
        self.handle = self.client.get_workflow_handle_for(CaseTransferWorkflow.run,
                                                          opened.view.transfer_id)
        return opened.view

    async def act(self, action: str, who: str, *, note: str | None = None,
                  **body: Any) -> TransferView:
        """Take an action as `who`; `note` stands for the reason a manager writes."""
        assert self.handle is not None, "open the transfer first"
        fields = ActionBody(note=note, **body)
        # As the API does: a note is kept when the manager wrote one or gave reasons.
        update, arg = update_for(action, fields, staff(self.authority, who), self.pathway,
                                 f"note-{uuid.uuid4().hex[:8]}" if note_text(fields) else None)
        result: TransferView = await self.handle.execute_update(update, arg,
                                                                id=str(uuid.uuid4()))
        return result

    async def refused(self, action: str, who: str, **body: Any) -> tuple[str | None, str]:
        """The refusal type (WrongStage, NotPermitted, InvalidInput) and message."""
        try:
            await self.act(action, who, **body)
        except WorkflowUpdateFailedError as failure:
            assert isinstance(failure.cause, ApplicationError)
            return failure.cause.type, failure.cause.message
        raise AssertionError(f"{action} by {who} was accepted")

    async def view(self) -> TransferView:
        assert self.handle is not None
        result: TransferView = await self.handle.query(CaseTransferWorkflow.view)
        return result


def deadline(view: TransferView, name: str) -> DeadlineView:
    return next(d for d in view.deadlines if d.id == name)


def status(view: TransferView, name: str) -> DeadlineStatus:
    return deadline(view, name).status


async def settled(s: Scenario, until: Callable[[TransferView], bool]) -> TransferView:
    """Query until the workflow has taken its timer's turn and `until(view)` holds."""
    for _ in range(300):
        view = await s.view()
        if until(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached; last view: {view!r}")


def inbox(mailbox: Mailbox, authority: str, who: str, case_id: str = "C1") -> list[str]:
    """The headlines of the emails `who` received about the case, sorted."""
    prefix = f"[{authority}] Case {case_id}: "
    return sorted(re.sub(r"\s+", " ", subject).strip().removeprefix(prefix)
                  for subject in mailbox.subjects(mail(authority, who)))


async def expect_mail(mailbox: Mailbox, authority: str, expected: dict[str, list[str]],
                      protocol: Protocol | None = None) -> None:
    """Each named person got exactly these emails (once each); nobody else got any."""
    for who, headlines in expected.items():
        await eventually(partial(inbox, mailbox, authority, who), sorted(headlines).__eq__)
    everyone = [p.id.removeprefix(f"{authority}-")
                for p in demo_staff(protocol or PROTOCOLS[authority])]
    others = {who: inbox(mailbox, authority, who) for who in everyone if who not in expected}
    assert others == {who: [] for who in others}
