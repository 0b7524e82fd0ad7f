"""The action forms a transfer's page offers, generated from the protocol.

Who may take each action is decided by the workflow's own pure rule (workflows.rules.holds,
levels_of); what the view does not carry (the order of steps, papers in time, a joint
decision's agreements) is left to the workflow, whose refusal the page shows as the API's.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from api.actions import DEADLINE_ACTIONS
from api.deps import AppState, as_actor
from models.protocol import Calendar, GateKind, Pathway, RoleRef
from models.tables import Staff
from models.transfer import (
    FINAL_STAGES,
    Actor,
    AllocateAction,
    DeadlineStatus,
    DutyAction,
    GateAction,
    KeyDateAction,
    Stage,
    TransferInput,
    TransferView,
)
from workflows.checks import (
    check_agreement,
    check_allocation,
    check_duty,
    check_key_date,
    check_order,
)
from workflows.rules import Refusal, holds, levels_of
from workflows.state import AFTER_TRANSFER, OPEN_STAGES, TransferState

ACTION_NAME = r"^[a-z][a-z0-9-]{0,79}$"


@dataclass
class Choice:
    value: str
    label: str
    optional: bool = False  # a checklist item that may be marked not applicable


@dataclass
class FormField:
    kind: str  # items, attendees, date, team, deadline, key_date, resolution, worker, note
    name: str
    label: str
    choices: list[Choice] = field(default_factory=list)
    required: bool = False
    hint: str = ""


@dataclass
class ActionForm:
    action: str
    title: str
    fields: list[FormField]
    button: str = "Record"

    @property
    def note_required(self) -> bool:
        return any(f.kind == "note" and f.required for f in self.fields)


def _may(actor: Actor, refs: list[RoleRef], pathway: Pathway, view: TransferView) -> bool:
    return any(holds(actor, ref, pathway, view.parties) for ref in refs)


def _words(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _note(required: bool) -> FormField:
    return FormField("note", "note", "Note (why)" if required else "Note (optional)",
                     required=required)


def _state_of(view: TransferView, pathway: Pathway, actor: Actor) -> TransferState:
    """As much of the workflow's state as the view carries: its steps, stage, dispute,
    clocks and tasks, enough for the workflow's own checks of a step's order, a joint
    agreement, a post-transfer duty and a key date."""
    state = TransferState(TransferInput(
        transfer_id=view.transfer_id, request_id="page", case_id=view.case_id,
        children=view.children, authority=view.authority,
        protocol_version=view.protocol_version, pathway_id=view.pathway, pathway=pathway,
        calendar=Calendar(), anchor_at=view.anchor_at, parties=view.parties,
        started_by=actor))  # who started it is not in the view; no check here reads it
    state.opened, state.stage, state.dispute = True, view.stage, view.dispute
    state.gates.update({g.id: g for g in view.gates if g.id in state.gates})
    state.deadlines = {d.id: d for d in view.deadlines}
    state.tasks = {t.id: t for t in view.tasks}
    return state


def _accepted(check: Any, *args: Any) -> bool:
    """Whether the workflow's own check lets this through now."""
    try:
        check(*args)
    except Refusal:
        return False
    return True


def _open_now(state: TransferState, gate_id: str, outcome: str, actor: Actor) -> bool:
    spec = state.pathway.gates[gate_id]
    try:
        check_order(state, gate_id)
        if spec.joint and state.pathway.outcomes(gate_id)[outcome].completes:
            check_agreement(state, gate_id, outcome, GateAction(
                action=state.pathway.outcomes(gate_id)[outcome].action, actor=actor))
    except Refusal:
        return False
    return True


def _gate_forms(actor: Actor, pathway: Pathway, view: TransferView,
                teams: list[str]) -> list[ActionForm]:
    if view.stage in FINAL_STAGES:
        return []
    state = _state_of(view, pathway, actor)
    forms = []
    for gate in view.gates:
        spec = pathway.gates.get(gate.id)
        if spec is None or gate.done or gate.not_needed or not _may(actor, spec.by, pathway,
                                                                   view):
            continue
        for name, outcome in pathway.outcomes(gate.id).items():
            late_ok = (gate.id not in pathway.transfer.requires and outcome.completes
                       and not outcome.dispute)
            if view.stage not in OPEN_STAGES + (AFTER_TRANSFER if late_ok else ()):
                continue
            if (outcome.dispute and view.dispute is not None) or not _open_now(
                    state, gate.id, name, actor):
                continue
            fields: list[FormField] = []
            if spec.kind is GateKind.checklist and outcome.completes:
                fields.append(FormField("items", "items", "Confirm each item", [
                    Choice(i, _words(i), i in spec.if_applicable) for i in spec.items]))
            if spec.kind is GateKind.meeting:
                fields.append(FormField("attendees", "attendees", "Who attended", [
                    Choice(a, _words(a)) for a in spec.attendees]))
            if outcome.needs_date:
                fields.append(FormField("date", "date", outcome.follow_up or "Date",
                                        required=True))
            elif outcome.event_date:
                fields.append(FormField("date", "date", "The date it happened", required=True))
            if outcome.names_party:
                fields.append(FormField("team", "team", pathway.parties[outcome.names_party]
                                        .title, [Choice(t, t) for t in teams], required=True))
            fields.append(_note(outcome.reason_required))
            title = spec.title if len(spec.outcomes) < 2 else f"{spec.title}: {_words(name)}"
            forms.append(ActionForm(outcome.action, title, fields))
    return forms


def _deadline_forms(actor: Actor, pathway: Pathway, view: TransferView) -> list[ActionForm]:
    changeable = []
    for d in view.deadlines:
        spec = pathway.deadlines.get(d.id) or pathway.after_transfer.get(d.id)
        if (spec is not None and spec.extend_by and d.kind in ("deadline", "duty")
                and d.status not in (DeadlineStatus.met, DeadlineStatus.met_late)
                and _may(actor, spec.extend_by, pathway, view)):
            changeable.append(d)
    forms = []
    for action in DEADLINE_ACTIONS:
        kind = DEADLINE_ACTIONS[action]
        chosen = [d for d in changeable if (kind != "pause" or d.paused_at is None)
                  and (kind != "resume" or d.paused_at is not None)]
        if not chosen:
            continue
        fields = [FormField("deadline", "deadline", "Deadline",
                            [Choice(d.id, d.title) for d in chosen], required=True)]
        if kind == "extend":
            fields.append(FormField("date", "until", "New due date", required=True))
        forms.append(ActionForm(action, f"{kind.capitalize()} a deadline",
                                [*fields, _note(True)], kind.capitalize()))
    return forms


def _duty_forms(actor: Actor, pathway: Pathway, view: TransferView) -> list[ActionForm]:
    """Each post-transfer duty to record, and each call back of the earlier team (a period's
    reopen), exactly when the workflow's check_duty would accept it from this person."""
    if view.stage not in AFTER_TRANSFER:
        return []
    state = _state_of(view, pathway, actor)
    forms = []
    for duty_id, duty in pathway.after_transfer.items():
        actions = [(pathway.duty_action(duty_id), duty.title)]
        if duty.reopen:
            actions.append((duty.reopen.action, duty.reopen.title))
        for action, title in actions:
            if _accepted(check_duty, state, DutyAction(action=action, actor=actor)):
                forms.append(ActionForm(action, title, [_note(False)]))
    return forms


def _key_date_forms(actor: Actor, pathway: Pathway, view: TransferView) -> list[ActionForm]:
    """The pathway's key dates this person may set (or correct) now, by check_key_date."""
    if not pathway.key_dates:
        return []
    state = _state_of(view, pathway, actor)
    day = view.anchor_at.date()  # check_key_date does not read the day; the API checks it
    settable = [(name, spec) for name, spec in pathway.key_dates.items() if _accepted(
        check_key_date, state, KeyDateAction(actor=actor, name=name, day=day))]
    if not settable:
        return []
    choices = [Choice(name, spec.title + (f" (now {view.key_dates[name]:%-d %B %Y})"
                                          if name in view.key_dates else ""))
               for name, spec in settable]
    return [ActionForm("set-key-date", "Set a key date", [
        FormField("key_date", "key_date", "Key date", choices, required=True),
        FormField("date", "date", "The date", required=True,
                  hint="For example, 27 3 2027. A plain date, never a date of birth"),
        _note(False)], "Set the date")]


def _late_allocation(actor: Actor, pathway: Pathway, view: TransferView) -> bool:
    """Whether check_allocation asks for the reason in the note: its clock was missed."""
    state = _state_of(view, pathway, actor)
    act = AllocateAction(actor=actor, worker_id="page", note_ref=None)
    return not _accepted(check_allocation, state, act) and _accepted(
        check_allocation, state, act.model_copy(update={"note_ref": "page"}))


def _dispute_forms(actor: Actor, pathway: Pathway, view: TransferView,
                   teams: list[str]) -> list[ActionForm]:
    rule = pathway.raise_dispute
    if view.dispute is None:
        if rule and view.stage in (Stage.proposed, Stage.ready) and _may(actor, rule.by,
                                                                          pathway, view):
            return [ActionForm("raise-dispute", "Dispute the transfer", [_note(True)],
                               "Raise a dispute")]
        return []
    ladder = pathway.ladders.get(view.dispute.ladder)
    levels = levels_of(ladder, actor, pathway) if ladder else []
    current = view.dispute.level
    forms = []
    if current in levels:
        forms.append(ActionForm("acknowledge-dispute", "Acknowledge the dispute",
                                [_note(False)], "Acknowledge"))
    if levels and max(levels) >= current:
        others = [t for t in teams if t not in (pathway.sending, pathway.receiving)]
        forms.append(ActionForm("resolve-dispute", "Resolve the dispute", [
            FormField("resolution", "resolution", "Resolution",
                      [Choice(r, r.capitalize()) for r in ("proceed", "redirect", "decline")],
                      required=True),
            FormField("team", "to_team", "Team to redirect to (only to redirect)",
                      [Choice(t, t) for t in others]),
            _note(True)], "Resolve"))
    return forms


def action_forms(actor: Actor, pathway: Pathway, view: TransferView, teams: list[str]
                 ) -> list[ActionForm]:
    """Every action the actor may take on the transfer now, as far as the view tells."""
    forms = _gate_forms(actor, pathway, view, teams)
    agreed = pathway.transfer.agreed_date
    if agreed and view.stage in (Stage.proposed, Stage.ready) and _may(actor, agreed.set_by,
                                                                       pathway, view):
        forms.append(ActionForm("set-transfer-date", "Set the transfer date", [
            FormField("date", "transfer_date", "Agreed transfer date", required=True),
            _note(False)], "Set the date"))
    if (pathway.allocation and view.stage is Stage.transferred
            and _may(actor, pathway.allocation.by, pathway, view)):
        forms.append(ActionForm("allocate", "Allocate a worker", [
            FormField("worker", "worker_id", "Worker id", required=True),
            _note(_late_allocation(actor, pathway, view))], "Allocate"))
    forms += _duty_forms(actor, pathway, view)
    forms += _key_date_forms(actor, pathway, view)
    forms += _deadline_forms(actor, pathway, view)
    forms += _dispute_forms(actor, pathway, view, teams)
    if view.stage in OPEN_STAGES and _may(actor, pathway.withdraw_by, pathway, view):
        forms.append(ActionForm("withdraw", "Withdraw the transfer", [_note(False)],
                                "Withdraw"))
    return forms


def new_key() -> str:
    """A fresh Idempotency-Key for each rendered form: a second copy of it acts once."""
    return "page-" + uuid.uuid4().hex


def actions_context(state: AppState, staff: Staff, view: TransferView, done: str
                    ) -> dict[str, Any]:
    """What the transfer page needs to show its action forms and the banner after one."""
    protocol = state.protocols.get(view.authority)
    pathway = protocol.pathways.get(view.pathway) if protocol else None
    forms = action_forms(as_actor(staff), pathway, view, sorted(protocol.teams)) \
        if protocol and pathway else []
    # Only an action's name is echoed, never other text from the address.
    shown = done.replace("-", " ").capitalize() if re.match(ACTION_NAME, done) else ""
    return {"actions": forms, "new_key": new_key, "done": shown,
            "transfer_id": view.transfer_id}
