"""Drive any pathway to its end on the time-skipping server, and record its history.

`Driver` acts as the demo staff exactly as the API does (through `api.actions.update_for`),
turns every answer into an `Outcome` (done, a typed refusal, closed), and can *finish* a
transfer from wherever it stands: resolve a dispute, resume a paused clock, record the next
step, wait for the agreed date, allocate, record the duties, let the periods run out. From a
fresh transfer that is the pathway's typical path; after a random sequence of actions
(`test_random_sequences.py`) it shows the transfer is not stuck.

Recording (not part of `make test`; run on purpose when the workflow changes shape):

    RECORD_HISTORIES=1 .venv/bin/pytest tests/faults/record_histories.py

writes `tests/histories/<authority>/<pathway>.json` for every pathway of every protocol
(and a few `<pathway>--<variant>.json` walks through disputes, postponements and clock
changes); `tests/test_replay.py` replays them all against today's workflow code.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy
from fastapi import HTTPException
from pydantic import ValidationError
from sqlmodel import Session, select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.working_days import non_working_dates
from api.actions import ActionBody, update_for
from api.starting import open_transfer
from models.days import weekly_instants
from models.protocol import GateKind, Pathway, Role, RoleRef, Side
from models.tables import Notification, Transfer
from models.transfer import FINAL_STAGES, DeadlineStatus, Stage, TransferView
from ops.demo import AUTHORITY_ROLES, SERVICE_ROLES, TEAM_ROLES
from tests.conftest import ADDRESSES
from tests.dates import Scene
from tests.faults.invariants import caseflow_key, check_store
from tests.mail import Mailbox
from tests.scenario import PROTOCOLS, staff
from tests.transfers import HISTORIES, skip_to
from workflows.case_transfer import CaseTransferWorkflow

LONDON = ZoneInfo("Europe/London")
UPDATE_TIMEOUT = timedelta(seconds=10)  # an answer slower than this is a stuck update
REFUSALS = {"WrongStage", "NotPermitted", "InvalidInput"}
TEAM_SHORT = {role: short for short, role, _ in TEAM_ROLES}  # team_manager -> tm
SERVICE_SHORT = {role: short for short, role, _ in SERVICE_ROLES}  # head_of_service -> hos
AUTHORITY_SHORT: dict[str, list[str]] = {}
for _short, _role, _ in AUTHORITY_ROLES:
    AUTHORITY_SHORT.setdefault(_role, []).append(_short)  # head_of_service -> hos-1, hos-2


class EngineFault(AssertionError):
    """Something a manager must never see: an untyped failure, a stuck update or workflow."""


@dataclass
class Outcome:
    """What became of one action: done (with the new view), refused (typed), or closed."""

    kind: str  # "done", "refused" (by the workflow), "rejected" (by the API), "closed"
    type: str | None = None  # WrongStage, NotPermitted, InvalidInput
    message: str = ""
    view: TransferView | None = None

    @property
    def done(self) -> bool:
        return self.kind == "done"


def everyone(authority: str) -> list[str]:
    """Every demo staff member of the authority, as `who` names (`cic-tm`, `hos-1` ...)."""
    teams = PROTOCOLS[authority].teams
    return [f"{t}-{s}" for t in teams for s, _, _ in TEAM_ROLES] + [
        s for s, _, _ in AUTHORITY_ROLES]


def holders(authority: str, pathway: Pathway, refs: list[RoleRef]) -> list[str]:
    """The demo staff who hold any of `refs` on this pathway, as `who` names."""
    found: list[str] = []
    for ref in refs:
        if ref.side is Side.authority:
            found += AUTHORITY_SHORT.get(ref.role.value, [])
            if ref.role.value in TEAM_SHORT:  # e.g. team_manager@authority: any team's
                found += [f"{t}-{TEAM_SHORT[ref.role.value]}" for t in PROTOCOLS[authority].teams]
        elif ref.side is Side.party and ref.role.value in TEAM_SHORT:
            # One of the authority's teams by name; a pathway's party: whichever team it names.
            teams = [ref.party] if ref.party in PROTOCOLS[authority].teams \
                else list(PROTOCOLS[authority].teams)
            found += [f"{t}-{TEAM_SHORT[ref.role.value]}" for t in teams]
        elif ref.role.value in TEAM_SHORT:
            team = pathway.sending if ref.side is Side.sending else pathway.receiving
            found.append(f"{team}-{TEAM_SHORT[ref.role.value]}")
        elif ref.role.value in SERVICE_SHORT:  # e.g. the Head of Service of the team's service
            team = pathway.sending if ref.side is Side.sending else pathway.receiving
            if team in pathway.services:
                found.append(f"{pathway.services[team]}-{SERVICE_SHORT[ref.role.value]}")
    return list(dict.fromkeys(found))


def london_today(now: datetime) -> date:
    return now.astimezone(LONDON).date()


@dataclass
class Driver:
    """One transfer, driven by the demo staff of its authority."""

    env: WorkflowEnvironment
    worker: Worker
    authority: str
    pathway_id: str
    case_id: str = "C1"
    pace: timedelta = timedelta(0)  # clock moved on before each step the finisher takes
    handle: WorkflowHandle[Any, Any] | None = None
    log: list[str] = field(default_factory=list)  # what happened, for a failure's message

    @property
    def pathway(self) -> Pathway:
        return PROTOCOLS[self.authority].pathways[self.pathway_id]

    # ----- acting ---------------------------------------------------------------------

    async def open(self, anchor_at: datetime) -> TransferView:
        protocol = PROTOCOLS[self.authority]
        opened = await open_transfer(
            self.env.client, task_queue=self.worker.task_queue, protocol=protocol,
            pathway_id=self.pathway_id, case_id=self.case_id, children=[self.case_id],
            anchor_at=anchor_at, agreed_transfer_date=None,
            started_by=staff(self.authority, holders(self.authority, self.pathway,
                                                     self.pathway.start_by)[0]),
            request_id=str(uuid.uuid4()), rpc_timeout=UPDATE_TIMEOUT,
            # Another council chosen at the start: the first the address list names.
            externals={name: ADDRESSES.organisations(self.authority, name)[0]
                       for name, external in self.pathway.externals.items()
                       if external.chosen_at_start
                       and name in (self.pathway.sending, self.pathway.receiving)})
        self.handle = self.env.client.get_workflow_handle_for(CaseTransferWorkflow.run,
                                                              opened.view.transfer_id)
        self.log.append(f"opened {self.authority}/{self.pathway_id} at {anchor_at:%a %d %b %H:%M}")
        return opened.view

    async def act(self, action: str, who: str, *, note: bool = True, **body: Any) -> Outcome:
        """Take `action` as `who`, as an API request would; refusals come back typed."""
        assert self.handle is not None, "open the transfer first"
        shown = f"{action} by {who}" + ("" if note else " (no note)") + (
            f" {body}" if body else "")
        try:
            update, arg = update_for(action, ActionBody(**body), staff(self.authority, who),
                                     self.pathway, f"note-{uuid.uuid4().hex[:8]}" if note
                                     else None)
        except (HTTPException, ValidationError) as exc:  # the API answers 422 itself
            self.log.append(f"{shown}: 422 before the workflow")
            return Outcome("rejected", "InvalidInput", str(exc))
        try:
            view: TransferView = await asyncio.wait_for(
                self.handle.execute_update(update, arg, id=str(uuid.uuid4()),
                                           rpc_timeout=UPDATE_TIMEOUT),
                timeout=2 * UPDATE_TIMEOUT.total_seconds())
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError) and cause.type in REFUSALS:
                self.log.append(f"{shown}: {cause.type}")
                return Outcome("refused", cause.type, cause.message)
            raise EngineFault(f"{shown}: the update failed without a typed refusal: "
                              f"{cause!r}\n" + self.story()) from failure
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND and not await self.running():
                self.log.append(f"{shown}: closed")
                return Outcome("closed", None, exc.message)
            raise
        except TimeoutError as exc:
            raise EngineFault(f"{shown}: no answer in {2 * UPDATE_TIMEOUT}: stuck update\n"
                              + self.story()) from exc
        except Exception as exc:
            raise EngineFault(f"{shown}: {exc!r}\n" + self.story()) from exc
        self.log.append(f"{shown}: done -> {view.stage.value}")
        return Outcome("done", view=view)

    async def must(self, action: str, who: str, **body: Any) -> TransferView:
        """An action the managers need to move on: refusing it leaves the transfer stuck."""
        outcome = await self.act(action, who, **body)
        if not outcome.done or outcome.view is None:
            raise EngineFault(f"the way forward was refused: {action} by {who}: {outcome.type}"
                              f" {outcome.message}\n" + self.story())
        return outcome.view

    async def jump(self, by: timedelta) -> None:
        now = await self.env.get_current_time()
        await skip_to(self.env, now + by)
        self.log.append(f"clock +{by}")

    # ----- watching -------------------------------------------------------------------

    async def view(self) -> TransferView:
        assert self.handle is not None
        result: TransferView = await self.handle.query(CaseTransferWorkflow.view)
        return result

    async def describe(self) -> DescribeWorkflowExecutionResponse:
        """The raw description (the SDK's `describe()` cannot decode the time-skipping
        server's datetime search attributes)."""
        assert self.handle is not None
        client = self.env.client
        return await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=self.handle.id)))

    async def status(self) -> WorkflowExecutionStatus:
        desc = await self.describe()
        return WorkflowExecutionStatus(desc.workflow_execution_info.status)

    async def running(self) -> bool:
        return await self.status() is WorkflowExecutionStatus.RUNNING

    async def settle(self, engine: sqlalchemy.Engine, seconds: float = 20) -> TransferView:
        """Wait until the workflow is quiet: no workflow task or activity (store write, email)
        in flight, and the store's current row is the latest change; return the view."""
        assert self.handle is not None
        loop = asyncio.get_running_loop()
        deadline, quiet, last = loop.time() + seconds, 0, ""
        while loop.time() < deadline:
            raw = await self.describe()
            status = WorkflowExecutionStatus(raw.workflow_execution_info.status)
            busy = [a.activity_type.name for a in raw.pending_activities]
            failing = [f"{a.activity_type.name}: {a.last_failure.message}"
                       for a in raw.pending_activities if a.attempt > 3]
            if failing:
                raise EngineFault(f"activities keep failing: {failing}\n" + self.story())
            if status is not WorkflowExecutionStatus.RUNNING:
                if status is not WorkflowExecutionStatus.COMPLETED:
                    raise EngineFault(f"the workflow ended {status}\n" + self.story())
                return await self.view()
            view = await self.view()
            row = store_row(engine, view.run_id)
            state = f"{view.seq}:{row.seq if row else None}:{busy}"
            if not busy and not raw.HasField("pending_workflow_task") and row is not None \
                    and row.seq == view.seq and state == last:
                quiet += 1
                if quiet >= 2:
                    return view
            else:
                quiet = 0
            last = state
            await asyncio.sleep(0.05)
        raise EngineFault(f"the workflow never went quiet (last: {last})\n" + self.story())

    def story(self) -> str:
        return "  " + "\n  ".join(self.log[-60:])

    # ----- the way forward --------------------------------------------------------------

    def _gate_body(self, gate_id: str) -> dict[str, Any]:
        gate = self.pathway.gates[gate_id]
        body: dict[str, Any] = {}
        if gate.kind is GateKind.checklist:
            body["items"] = list(gate.items)
        if gate.kind is GateKind.meeting:
            body["attendees"] = list(gate.attendees)
        return body

    def _forward_outcome(self, gate_id: str) -> tuple[str, bool, bool]:
        """The action that completes the gate without a dispute (one naming no further team,
        where there is one), whether it needs a date ahead, and whether it gives the date the
        event happened."""
        forward = [o for o in self.pathway.outcomes(gate_id).values()
                   if o.completes and not o.dispute]
        outcome = next((o for o in forward if not o.names_party), forward[0])
        return outcome.action, outcome.needs_date, outcome.event_date

    async def complete(self, gate_id: str) -> TransferView:
        action, needs_date, event_date = self._forward_outcome(gate_id)
        gate = self.pathway.gates[gate_id]
        await self.wait_for_the_meeting(gate_id)
        who = holders(self.authority, self.pathway, gate.by)[0]
        body = self._gate_body(gate_id)
        if event_date:  # it happened today
            body["date"] = london_today(await self.env.get_current_time())
        if gate.joint:  # each party that has not agreed yet agrees in turn; the last below
            view = await self.view()
            agreed = {a.party for g in view.gates if g.id == gate_id for a in g.agreed}
            waiting = [ref for ref in gate.by if str(ref) not in agreed]
            for ref in waiting[:-1]:
                await self.must(action, holders(self.authority, self.pathway, [ref])[0],
                                **body)
            who = holders(self.authority, self.pathway, waiting[-1:])[0]
        if not needs_date:
            return await self.must(action, who, **body)
        # A date the managers agree: the first working day far enough ahead (notice).
        today = london_today(await self.env.get_current_time())
        for ahead in range(1, 60):
            outcome = await self.act(action, who, date=today + timedelta(days=ahead), **body)
            if outcome.done and outcome.view is not None:
                return outcome.view
            if outcome.type != "InvalidInput":
                break
        raise EngineFault(f"no date was accepted for {action}\n" + self.story())

    async def wait_for_the_meeting(self, gate_id: str) -> None:
        """A weekly meeting considers the case once its papers were in by a week's cut-off:
        move the clock past the next cut-off when they came in after the last one."""
        meeting = self.pathway.meeting
        if meeting is None or gate_id != meeting.agenda_gate:
            return
        view = await self.view()
        papers = {g.id: g.done_at for g in view.gates if g.done_at is not None}
        filed = max(papers.values(), default=None)
        now = await self.env.get_current_time()
        calendar = PROTOCOLS[self.authority].calendar
        closed = frozenset(non_working_dates(calendar, range(now.year - 1, now.year + 2)))
        latest, following = weekly_instants(now, meeting.weekday, meeting.papers_due, closed)
        if filed is not None and filed > latest:
            await skip_to(self.env, following + timedelta(minutes=1))
            self.log.append(f"clock to the next meeting's cut-off {following:%a %d %b %H:%M}")

    def _open_gates(self, view: TransferView, after_transfer: bool) -> list[str]:
        # Done, or not needed after an earlier answer (a conditional step): clear.
        clear = {g.id for g in view.gates if g.done or g.not_needed}
        answered = {g.id for g in view.gates if g.outcome is not None}
        found = []
        for gid, gate in self.pathway.gates.items():
            if gid in clear or not set(gate.after) <= clear:
                continue
            condition = gate.condition()
            if condition is not None and condition[0] not in answered:
                continue  # waits for the answer it depends on
            if after_transfer and (gid in self.pathway.transfer.requires
                                   or not any(o.completes and not o.dispute
                                              for o in self.pathway.outcomes(gid).values())):
                continue
            found.append(gid)
        return found

    async def finish(self, engine: sqlalchemy.Engine, *, steps: int = 80) -> TransferView:
        """Bring the transfer to its end from wherever it stands, as its managers would;
        an EngineFault if no action or passing time moves it on (a stuck transfer)."""
        view = await self.settle(engine)
        for _ in range(steps):
            if view.stage in FINAL_STAGES:
                await self._completed(engine)
                return view
            if self.pace:
                await self.jump(self.pace)
                view = await self.settle(engine)
                if view.stage in FINAL_STAGES:
                    continue
            view = await self._step(view, engine)
        raise EngineFault(f"not finished after {steps} steps: {view.stage.value}, waiting for "
                          f"{view.waiting_for}\n" + self.story())

    async def _step(self, view: TransferView, engine: sqlalchemy.Engine) -> TransferView:
        pathway = self.pathway
        if view.dispute is not None:  # the top of the ladder may always resolve
            ladder = pathway.ladders[view.dispute.ladder]
            top = ladder.levels[-1]
            who = holders(self.authority, pathway,
                          [RoleRef(role=top.role, side=s) for s in top.of])[0]
            await self.must("resolve-dispute", who, resolution="proceed")
            return await self.settle(engine)
        paused = [d for d in view.deadlines if d.paused_at is not None
                  and d.status not in (DeadlineStatus.met, DeadlineStatus.met_late)]
        if paused:
            spec = pathway.deadlines[paused[0].id]
            await self.must("resume-deadline", holders(self.authority, pathway,
                                                       spec.extend_by)[0],
                            deadline=paused[0].id)
            return await self.settle(engine)
        if view.stage in (Stage.proposed, Stage.ready):
            gates = self._open_gates(view, after_transfer=False)
            if gates:
                await self.complete(gates[0])
                return await self.settle(engine)
            if view.transfer_date is not None:  # ready: the case moves on the agreed day
                await skip_to(self.env, view.transfer_date + timedelta(minutes=1))
                self.log.append(f"clock to the agreed date {view.transfer_date:%a %d %b %H:%M}")
                return await self.settle(engine)
            raise EngineFault(f"stuck: {view.stage.value} with no step left and no date; "
                              f"waiting for {view.waiting_for}\n" + self.story())
        if view.stage is Stage.transferred and pathway.allocation is not None:
            who = holders(self.authority, pathway, pathway.allocation.by)[0]
            await self.must("allocate", who, worker_id="W1")
            return await self.settle(engine)
        # Allocated, or (a closure, a case gone to another council) past the point with nobody
        # here to allocate: the duties after it.
        if view.stage is Stage.allocated or (view.stage is Stage.transferred
                                             and pathway.allocation is None):
            for task in view.tasks:  # untimed post-transfer tasks
                if not task.done:
                    await self.must(task.action, holders(self.authority, pathway,
                                                         pathway.after_transfer[task.id].by)[0])
                    return await self.settle(engine)
            for d in view.deadlines:
                duty = pathway.after_transfer.get(d.id)
                if d.kind == "duty" and duty is not None and d.status in (
                        DeadlineStatus.pending, DeadlineStatus.missed):
                    await self.must(pathway.duty_action(d.id),
                                    holders(self.authority, pathway, duty.by)[0])
                    return await self.settle(engine)
            gates = self._open_gates(view, after_transfer=True)
            pending = [d for d in view.deadlines if d.status is DeadlineStatus.pending
                       and d.kind != "transfer_date" and d.met_when.partition(":")[0]
                       in gates]
            if pending:  # a step that may still be recorded after the transfer
                await self.complete(pending[0].met_when.partition(":")[0])
                return await self.settle(engine)
            waits = [d.due_at for d in view.deadlines if d.status is DeadlineStatus.pending
                     and d.kind != "transfer_date"]
            if waits:  # periods of continued involvement end by themselves
                await skip_to(self.env, max(waits) + timedelta(minutes=1))
                self.log.append(f"clock to {max(waits):%a %d %b %Y %H:%M}")
                return await self.settle(engine)
            raise EngineFault("stuck: allocated, nothing pending, not closed\n" + self.story())
        raise EngineFault(f"stuck: stage {view.stage.value}\n" + self.story())

    async def _completed(self, engine: sqlalchemy.Engine) -> None:
        assert self.handle is not None
        loop = asyncio.get_running_loop()
        until = loop.time() + 20
        while loop.time() < until:
            status = await self.status()
            if status is WorkflowExecutionStatus.COMPLETED:
                return
            if status is not WorkflowExecutionStatus.RUNNING:
                raise EngineFault(f"the workflow ended {status}\n" + self.story())
            await asyncio.sleep(0.05)
        raise EngineFault("a final stage, but the workflow never completed\n" + self.story())


def emails_once(engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """`check_store(mailbox=...)`'s check, unfolding the key header first: the SMTP server
    receives a long `X-Caseflow-Key` folded over two lines (RFC 5322 §2.2.3)."""
    accepted = Counter(caseflow_key(m) for _, m in mailbox.messages)
    with Session(engine) as session:
        for n in session.exec(select(Notification)):
            if n.sent_at is not None:
                assert accepted[n.key] == 1, f"{n.key} accepted {accepted[n.key]} times"
    keys = {n for n in accepted}
    assert all(accepted[k] == 1 for k in keys), "an email was delivered twice"


def check(engine: sqlalchemy.Engine, mailbox: Mailbox) -> None:
    """Every invariant of `check_store`, with every email delivered exactly once."""
    check_store(engine)
    emails_once(engine, mailbox)


def store_row(engine: sqlalchemy.Engine, run_id: str) -> Transfer | None:
    with Session(engine) as session:
        return session.get(Transfer, run_id)


def undelivered(engine: sqlalchemy.Engine) -> list[str]:
    with Session(engine) as session:
        return [n.key for n in session.exec(select(Notification)
                                            .where(Notification.sent_at == None))]  # noqa: E711


async def delivered(engine: sqlalchemy.Engine, seconds: float = 20) -> None:
    """Every email written has been delivered (the deliveries run beside the workflow)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while undelivered(engine):
        if loop.time() > until:
            raise EngineFault(f"emails never delivered: {undelivered(engine)[:5]}")
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------------------------------
# Recording: every pathway's typical path, and a few variants.
# ---------------------------------------------------------------------------------------

# Tue 13 Apr 2027, after Easter: a Tuesday of a week in summer time without a bank holiday,
# at the first such week after today (tests.dates.Scene), so recording works on any day.
ORDINARY_WEEK = Scene("a week after Easter 2027", ((date(2027, 4, 12), date(2027, 4, 16)),))
ANCHOR = ORDINARY_WEEK.local(2027, 4, 13, 9)
PACE = timedelta(hours=2)  # one step every two hours, as managers would take them
EVERY_PATHWAY = [(a, p) for a in sorted(PROTOCOLS) for p in PROTOCOLS[a].pathways]

Script = Callable[[Driver, sqlalchemy.Engine], Awaitable[None]]


def _who(d: Driver, refs: list[RoleRef]) -> str:
    return holders(d.authority, d.pathway, refs)[0]


def _level(d: Driver, ladder_name: str, level: int) -> str:
    spec = d.pathway.ladders[ladder_name].levels[level]
    return _who(d, [RoleRef(role=spec.role, side=s) for s in spec.of])


async def _to_gate(d: Driver, engine: sqlalchemy.Engine, target: str) -> None:
    """Record the steps that must come before `target`."""
    while True:
        view = await d.settle(engine)
        done = {g.id for g in view.gates if g.done or g.not_needed}
        if set(d.pathway.gates[target].after) <= done:
            return
        todo = [g for g in d._open_gates(view, after_transfer=False) if g != target]
        assert todo, f"nothing leads to {target}"
        await d.complete(todo[0])
        await d.jump(PACE)


def _dispute_gate(d: Driver) -> tuple[str, str, str]:
    """The first gate with a dispute outcome: (gate, its dispute action, the ladder)."""
    for gid in d.pathway.gates:
        for o in d.pathway.outcomes(gid).values():
            if o.dispute:
                return gid, o.action, o.dispute
    raise AssertionError(f"{d.pathway_id} has no dispute")


async def disputed_climbs_then_proceeds(d: Driver, engine: sqlalchemy.Engine) -> None:
    """Disputed, acknowledged at the first level, escalated by time, resolved: proceed."""
    gate, action, ladder = _dispute_gate(d)
    await _to_gate(d, engine, gate)
    who = _who(d, d.pathway.gates[gate].by)
    await d.must(action, who)
    await d.jump(PACE)
    await d.must("acknowledge-dispute", _level(d, ladder, 0))
    view = await d.settle(engine)
    assert view.dispute is not None and view.dispute.level_due_at is not None
    await skip_to(d.env, view.dispute.level_due_at + timedelta(minutes=1))
    view = await d.settle(engine)
    assert view.dispute is not None and view.dispute.level == 1, view.dispute
    await d.must("resolve-dispute", _level(d, ladder, 1), resolution="proceed")


async def disputed_declined(d: Driver, engine: sqlalchemy.Engine) -> None:
    gate, action, ladder = _dispute_gate(d)
    await _to_gate(d, engine, gate)
    await d.must(action, _who(d, d.pathway.gates[gate].by))
    await d.jump(PACE)
    await d.must("resolve-dispute", _level(d, ladder, 0), resolution="decline")


async def disputed_redirected(d: Driver, engine: sqlalchemy.Engine) -> None:
    gate, action, ladder = _dispute_gate(d)
    await _to_gate(d, engine, gate)
    await d.must(action, _who(d, d.pathway.gates[gate].by))
    other = next(t for t in PROTOCOLS[d.authority].teams
                 if t not in (d.pathway.sending, d.pathway.receiving))
    await d.jump(PACE)
    await d.must("resolve-dispute", _level(d, ladder, 0), resolution="redirect", to_team=other)


async def withdrawn(d: Driver, engine: sqlalchemy.Engine) -> None:
    await d.jump(PACE)
    await d.must("withdraw", _who(d, d.pathway.withdraw_by))


async def clock_paused_resumed_extended(d: Driver, engine: sqlalchemy.Engine) -> None:
    """The first clock that may be changed: paused, resumed after a day, then extended (a clock
    that starts at a step: once the step is recorded)."""
    name, spec = next((n, s) for n, s in d.pathway.deadlines.items() if s.extend_by)
    if spec.start in d.pathway.gates:
        await _to_gate(d, engine, spec.start)
        await d.complete(spec.start)
    who = _who(d, spec.extend_by)
    await d.jump(PACE)
    await d.must("pause-deadline", who, deadline=name)
    await d.jump(timedelta(days=1))
    view = await d.must("resume-deadline", who, deadline=name)
    due = next(x for x in view.deadlines if x.id == name).due_at
    people = holders(d.authority, d.pathway, spec.extend_by) if spec.extend_needs_all \
        else [who]
    for ahead in range(7, 30):  # a week later, or the first working day after
        until = london_today(due) + timedelta(days=ahead)
        tried = await d.act("extend-deadline", people[0], deadline=name, until=until)
        if tried.done:
            break
        assert tried.type == "InvalidInput", tried
    for person in people[1:]:
        await d.must("extend-deadline", person, deadline=name, until=until)


async def meeting_postponed_then_qa_rejected(d: Driver, engine: sqlalchemy.Engine) -> None:
    """St Helens: postponed with a re-presentation date, then the QA template rejected."""
    meeting = d.pathway.gates["case_transfer_meeting"]
    chair = _who(d, meeting.by)
    await _to_gate(d, engine, "case_transfer_meeting")
    today = london_today(await d.env.get_current_time())
    for ahead in range(7, 30):  # a week later, or the first working day after
        postponed = await d.act("postpone-transfer", chair, date=today + timedelta(days=ahead))
        if postponed.done:
            break
        assert postponed.type == "InvalidInput", postponed
    else:
        raise EngineFault("no re-presentation date was accepted\n" + d.story())
    await d.jump(PACE)
    await _to_gate(d, engine, "case_transfer_meeting")
    await d.must("reject-qa-template", chair)


async def overdue_then_late(d: Driver, engine: sqlalchemy.Engine) -> None:
    """Nothing recorded until every clock from the anchor has run out; then the typical path."""
    view = await d.settle(engine)
    dues = [x.due_at for x in view.deadlines if x.kind == "deadline"]
    if dues:
        await skip_to(d.env, max(dues) + timedelta(minutes=1))


VARIANTS: list[tuple[str, str, str, Script]] = [
    # Every ladder, climbed by time and resolved; every resolution.
    ("gateshead", "sgcp-to-a-and-i", "dispute-escalated", disputed_climbs_then_proceeds),
    ("nottingham", "fieldwork-to-cic", "dispute-escalated", disputed_climbs_then_proceeds),
    ("st_helens", "duty-to-assessment", "dispute-escalated", disputed_climbs_then_proceeds),
    ("safeguarding_hub", "s-and-p-to-cla-section-20", "dispute-escalated",
     disputed_climbs_then_proceeds),
    ("family_safeguarding", "a-and-i-to-early-help", "dispute-escalated",
     disputed_climbs_then_proceeds),
    ("family_safeguarding", "a-and-i-to-fsp-proceedings-before-cmh", "dispute-escalated",
     disputed_climbs_then_proceeds),
    ("nottingham", "mash-to-duty", "dispute-declined", disputed_declined),
    ("nottingham", "duty-to-fieldwork-cin", "dispute-redirected", disputed_redirected),
    # Clocks paused, resumed and extended (by one manager; by both sides' agreement).
    ("nottingham", "fieldwork-to-cic", "clock-changed", clock_paused_resumed_extended),
    ("nottingham", "fieldwork-to-tfst", "clock-changed", clock_paused_resumed_extended),
    ("st_helens", "duty-to-assessment", "clock-changed", clock_paused_resumed_extended),
    # Meeting outcomes, withdrawal, breaches.
    ("st_helens", "duty-to-assessment", "postponed-qa-rejected",
     meeting_postponed_then_qa_rejected),
    ("st_helens", "duty-to-permanence", "postponed-qa-rejected",
     meeting_postponed_then_qa_rejected),
    ("gateshead", "sgcp-to-lac", "withdrawn", withdrawn),
    ("gateshead", "sgcp-to-lac", "overdue", overdue_then_late),
    ("nottingham", "fieldwork-to-cic", "overdue", overdue_then_late),
    ("st_helens", "duty-to-assessment", "overdue", overdue_then_late),
    ("safeguarding_hub", "hub-to-s-and-p-private-fostering", "overdue", overdue_then_late),
    ("family_safeguarding", "fsp-to-cla-final-order", "overdue", overdue_then_late),
]

recording = pytest.mark.skipif(os.environ.get("RECORD_HISTORIES") != "1",
                               reason="records histories only with RECORD_HISTORIES=1")


async def record(ts_env: WorkflowEnvironment, worker: Worker, engine: sqlalchemy.Engine,
                 mailbox: Mailbox, authority: str, pathway: str, name: str,
                 script: Script | None = None) -> None:
    await skip_to(ts_env, ANCHOR)
    d = Driver(ts_env, worker, authority, pathway, pace=PACE)
    await d.open(ANCHOR)
    if script is not None:
        await script(d, engine)
    view = await d.finish(engine)
    await delivered(engine)
    check(engine, mailbox)
    assert d.handle is not None
    history = await d.handle.fetch_history()
    out = HISTORIES / authority / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    events = json.loads(history.to_json())
    if os.environ.get("RECORD_FULL_HISTORIES") != "1":
        elide_outputs(events)
    out.write_text(json.dumps(events, separators=(",", ":")) + "\n")
    assert view.stage in FINAL_STAGES


def elide_outputs(history: dict[str, Any]) -> None:
    """Drop the payloads the workflow *produced*, which replay recomputes and never compares:
    the arguments it gave its activities (each case-store write carries the whole view), the
    answers to updates and the final result. What it *received* stays: its input, the update
    arguments, activity results, timers and search attributes. This halves the files; with
    RECORD_FULL_HISTORIES=1 nothing is dropped. (Checked with temporalio 1.35: a change of
    wording in a store write or in the view replays clean with or without the payloads, and a
    nondeterministic change fails on both.)"""
    for event in history["events"]:
        kind = event["eventType"]
        if kind == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            event["activityTaskScheduledEventAttributes"].pop("input", None)
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            outcome = event["workflowExecutionUpdateCompletedEventAttributes"]["outcome"]
            outcome.get("success", {}).pop("payloads", None)
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED":
            event["workflowExecutionCompletedEventAttributes"].pop("result", None)


@recording
@pytest.mark.parametrize(("authority", "pathway"), EVERY_PATHWAY,
                         ids=[f"{a}/{p}" for a, p in EVERY_PATHWAY])
async def test_record_typical_path(ts_env, worker, directory_engine, mailbox, authority,
                                   pathway):
    await record(ts_env, worker, directory_engine, mailbox, authority, pathway, pathway)


@recording
@pytest.mark.parametrize(("authority", "pathway", "variant", "script"), VARIANTS,
                         ids=[f"{a}/{p}--{v}" for a, p, v, _ in VARIANTS])
async def test_record_variant(ts_env, worker, directory_engine, mailbox, authority, pathway,
                              variant, script):
    await record(ts_env, worker, directory_engine, mailbox, authority, pathway,
                 f"{pathway}--{variant}", script)


def test_roles_used_by_protocols_have_demo_staff() -> None:
    """Every role a protocol names is held by some demo staff member (else `holders` is [])."""
    for authority, protocol in PROTOCOLS.items():
        for pathway in protocol.pathways.values():
            refs = [*pathway.start_by, *pathway.withdraw_by,
                    *(pathway.allocation.by if pathway.allocation else [])]
            for gate in pathway.gates.values():
                refs += gate.by
            for spec in pathway.deadlines.values():
                refs += spec.extend_by
            for duty in pathway.after_transfer.values():
                refs += duty.by
            for ref in refs:
                assert holders(authority, pathway, [ref]), (authority, str(ref))
    assert all(r in {x.value for x in Role} for r in AUTHORITY_SHORT)
