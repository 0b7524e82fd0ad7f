"""One manager action, from its name and body to the workflow Update that takes it.

The API and the tests both act through `send_action`, so a test takes an action
exactly as a manager's request does.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import HTTPException
from pydantic import BaseModel, Field
from temporalio.client import WorkflowHandle

from api.limits import (
    KEY_DATE_YEARS,
    MANY,
    TEXT_CHARS,
    TRANSFER_DATE_YEARS,
    check_dates,
)
from models.protocol import Pathway
from models.transfer import (
    IDENTIFIER,
    Actor,
    AllocateAction,
    DeadlineChange,
    DisputeAction,
    DutyAction,
    GateAction,
    KeyDateAction,
    TransferDateAction,
    TransferView,
    WithdrawAction,
)
from workflows.case_transfer import CaseTransferWorkflow

UPDATE_TIMEOUT = dt.timedelta(seconds=15)
DEADLINE_ACTIONS = {"extend-deadline": "extend", "pause-deadline": "pause",
                    "resume-deadline": "resume"}
DISPUTE_ACTIONS = {"acknowledge-dispute": "acknowledge", "resolve-dispute": "resolve",
                   "raise-dispute": "raise"}
NOT_APPLICABLE = "Not applicable"  # the heading of the reasons kept with an action's note
ITEM = r"^[a-z][a-z0-9_]{0,63}$"  # a protocol's name for an item, a team or a key date


class ActionBody(BaseModel):
    items: list[Annotated[str, Field(pattern=ITEM)]] = Field(
        default=[], max_length=MANY, description="Checklist items confirmed")
    not_applicable: dict[Annotated[str, Field(pattern=ITEM)],
                         Annotated[str, Field(min_length=1, max_length=TEXT_CHARS)]] = Field(
        default={}, max_length=MANY,
        description="Checklist items that do not apply to this case, each with the reason "
                    "(where the protocol allows it); kept in the case store only")
    attendees: list[Annotated[str, Field(pattern=ITEM)]] = Field(
        default=[], max_length=MANY,
        description="Who attended a meeting (the protocol's names, e.g. family)")
    date: dt.date | None = Field(default=None,
                                 description="A date the action sets (e.g. re-presentation)")
    worker_id: str | None = Field(default=None, pattern=IDENTIFIER,
                                  description="The worker allocated (allocate)")
    transfer_date: dt.date | None = Field(default=None,
                                          description="The agreed date (set-transfer-date)")
    deadline: str | None = Field(default=None, pattern=ITEM,
                                 description="The deadline to extend, pause or resume")
    until: dt.date | None = Field(default=None, description="New due date (extend-deadline)")
    resolution: Literal["proceed", "redirect", "decline"] | None = Field(
        default=None, description="How a dispute is resolved (resolve-dispute)")
    to_team: str | None = Field(default=None, pattern=ITEM,
                                description="Where a dispute redirects the case")
    team: str | None = Field(default=None, pattern=ITEM,
                             description="The team an action names (e.g. the team that made "
                                         "the original decision)")
    key_date: str | None = Field(default=None, pattern=ITEM,
                                 description="The key date to set (set-key-date), with its "
                                             "'date'")
    note: str | None = Field(default=None, max_length=4000,
                             description="Why, in your words; kept in the case store only")


def check_action_dates(action: str, body: ActionBody, anchor: dt.date) -> None:
    """Refuse (422) a date in the body that no transfer anchored on `anchor` could mean."""
    if action == "set-key-date":  # a date in the child's life, e.g. the day they turn 18
        check_dates(anchor, {"key date": body.date}, years=KEY_DATE_YEARS)
    else:
        check_dates(anchor, {"date": body.date}, years=TRANSFER_DATE_YEARS)
    check_dates(anchor, {"transfer date": body.transfer_date, "until date": body.until},
                years=TRANSFER_DATE_YEARS)


def _needs(value: Any, message: str) -> Any:
    if value is None:
        raise HTTPException(422, message)
    return value


def update_for(action: str, body: ActionBody, actor: Actor, pathway: Pathway,
               note_ref: str | None) -> tuple[Any, BaseModel]:
    """The Update and its argument for an action named in a request."""
    if action == "allocate":
        worker = _needs(body.worker_id, "Give the worker_id of the worker you are allocating")
        return CaseTransferWorkflow.allocate, AllocateAction(actor=actor, worker_id=worker,
                                                             note_ref=note_ref)
    if action == "set-transfer-date":
        day = _needs(body.transfer_date, "Give the agreed transfer_date (YYYY-MM-DD)")
        return CaseTransferWorkflow.set_transfer_date, TransferDateAction(
            actor=actor, transfer_date=day, note_ref=note_ref)
    if action == "withdraw":
        return CaseTransferWorkflow.withdraw, WithdrawAction(actor=actor, note_ref=note_ref)
    if action in DEADLINE_ACTIONS:
        name = _needs(body.deadline, "Name the 'deadline' to change")
        return CaseTransferWorkflow.change_deadline, DeadlineChange(
            kind=DEADLINE_ACTIONS[action], deadline=name, actor=actor, until=body.until,
            note_ref=note_ref)
    if action == "set-key-date":
        name = _needs(body.key_date, "Name the 'key_date' to set")
        day = _needs(body.date, "Give the key date's 'date' (YYYY-MM-DD)")
        return CaseTransferWorkflow.set_key_date, KeyDateAction(actor=actor, name=name, day=day,
                                                                 note_ref=note_ref)
    if action in DISPUTE_ACTIONS:
        return CaseTransferWorkflow.dispute_step, DisputeAction(
            kind=DISPUTE_ACTIONS[action], actor=actor, resolution=body.resolution,
            to_team=body.to_team, note_ref=note_ref)
    duties = pathway.after_transfer
    if action in {pathway.duty_action(d) for d in duties} | {
            d.reopen.action for d in duties.values() if d.reopen}:
        return CaseTransferWorkflow.complete_duty, DutyAction(action=action, actor=actor,
                                                              note_ref=note_ref)
    return CaseTransferWorkflow.complete_gate, GateAction(
        action=action, actor=actor, items=body.items, attendees=body.attendees,
        not_applicable=list(body.not_applicable), on_date=body.date, team=body.team,
        note_ref=note_ref)


def note_text(body: ActionBody) -> str | None:
    """The note kept in the case store: the manager's words, and why items do not apply."""
    reasons = [f"- {item}: {why}" for item, why in body.not_applicable.items()]
    parts = [body.note] if body.note else []
    if reasons:
        parts.append(f"{NOT_APPLICABLE}:\n" + "\n".join(reasons))
    return "\n\n".join(parts) or None


async def send_action(handle: WorkflowHandle[Any, Any], action: str, body: ActionBody,
                      actor: Actor, pathway: Pathway, note_ref: str | None, update_id: str
                      ) -> TransferView:
    update, arg = update_for(action, body, actor, pathway, note_ref)
    result: TransferView = await handle.execute_update(update, arg, id=update_id,
                                                       rpc_timeout=UPDATE_TIMEOUT)
    return result
