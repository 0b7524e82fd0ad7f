"""CaseTransferWorkflow: one transfer of a case between two teams, driven by its protocol.

The workflow interprets the pathway it was started with (gates, transfer rule,
deadlines, post-transfer duties) and nothing else: no authority's rules live
here. Manager actions arrive as Updates whose validators check stage, role and
input; deadlines are durable timers on due times planned by an activity; every
change is written to the case store by one activity (event, current row and
outbox in one transaction) before the caller hears of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import search_attributes as sa
    from models.protocol import GateKind, RoleRef, Side
    from models.transfer import (
        Actor,
        AllocateAction,
        ChangeRecord,
        DeadlineStatus,
        DeadlineView,
        DeliveryRequest,
        DutyAction,
        GateAction,
        GateView,
        Notice,
        Opened,
        PlanDate,
        PlanItem,
        PlanRequest,
        PlanResult,
        ResolvedCalendar,
        Stage,
        TransferDateAction,
        TransferInput,
        TransferView,
        WithdrawAction,
    )
    from workflows.wording import actor_words, current_details, notice, role_words

OPEN_STAGES = (Stage.proposed, Stage.ready)
STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                          maximum_interval=timedelta(minutes=1))
MAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5),
                         maximum_interval=timedelta(minutes=10))
TRANSFER_DATE = "transfer_date"


def rejected(kind: str, message: str) -> ApplicationError:
    """A refusal the API turns into 409 (WrongStage), 403 (NotPermitted) or 422 (InvalidInput)."""
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn
class CaseTransferWorkflow:
    @workflow.init
    def __init__(self, inp: TransferInput) -> None:
        self.inp = inp
        self.pathway = inp.pathway
        self.stage = Stage.proposed
        self.seq = 0
        self.opened = False
        self.wake = False
        self.lock = asyncio.Lock()
        self.calendar: ResolvedCalendar | None = None
        self.transferred_at: datetime | None = None
        self.allocated_worker: str | None = None
        self.deliveries: list[Any] = []
        self.gates = {
            gid: GateView(id=gid, title=g.title, action=self.pathway.gate_action(gid))
            for gid, g in self.pathway.gates.items()
        }
        self.deadlines: dict[str, DeadlineView] = {}

    # ----- the main loop: timers and automatic transitions ---------------------------

    @workflow.run
    async def run(self, inp: TransferInput) -> TransferView:
        async with self.lock:
            await self._plan_opening()
            await self._record("started", f"Transfer proposed by {actor_words(inp.started_by)}",
                               actor=inp.started_by,
                               notices=self._notices(self.pathway.notify.started,
                                                     "transfer proposed to your team"))
        self.opened = True
        while self.stage not in (Stage.closed, Stage.withdrawn):
            async with self.lock:
                # Transfer first: a transfer on the deadline's own instant meets it.
                await self._advance()
                await self._take_due_actions()
                await self._advance()
            if self.stage in (Stage.closed, Stage.withdrawn):
                break
            self.wake = False
            wake_at = self._next_wake()
            timeout = None if wake_at is None else max(timedelta(0), wake_at - workflow.now())
            with contextlib.suppress(TimeoutError):  # a due time came: go round again
                await workflow.wait_condition(lambda: self.wake, timeout=timeout,
                                              timeout_summary=self._wake_summary())
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.deliveries)
        return self._view()

    async def _plan_opening(self) -> None:
        items = [PlanItem(name=name, start=self.inp.anchor_at, within=d.within)
                 for name, d in self.pathway.deadlines.items() if d.start == "anchor"]
        dates = []
        if self.inp.agreed_transfer_date is not None:
            dates.append(PlanDate(name=TRANSFER_DATE, day=self.inp.agreed_transfer_date))
        result = await self._plan(items, dates)
        for due in result.dues:
            if due.name == TRANSFER_DATE:
                continue
            self.deadlines[due.name] = DeadlineView(
                id=due.name, title=self.pathway.deadlines[due.name].title,
                due_at=due.due_at, due_local=due.due_local)
        rule = self.pathway.transfer.agreed_date
        agreed = next((d for d in result.dues if d.name == TRANSFER_DATE), None)
        if rule is not None:
            source = agreed or next(d for d in result.dues if d.name == rule.default)
            self.deadlines[TRANSFER_DATE] = DeadlineView(
                id=TRANSFER_DATE, title="Agreed transfer date", kind="transfer_date",
                due_at=source.due_at, due_local=source.due_local)

    async def _plan(self, items: list[PlanItem], dates: list[PlanDate]) -> PlanResult:
        result: PlanResult = await workflow.execute_activity(
            "plan_deadlines",
            PlanRequest(calendar=self.inp.calendar, resolved=self.calendar, items=items,
                        dates=dates),
            result_type=PlanResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
            summary="Plan due times on the protocol's calendar",
        )
        self.calendar = result.resolved
        return result

    def _next_wake(self) -> datetime | None:
        now = workflow.now()
        times = [d.due_at for d in self.deadlines.values()
                 if d.status is DeadlineStatus.pending and d.kind != TRANSFER_DATE]
        date = self.deadlines.get(TRANSFER_DATE)
        if date is not None and self.stage in OPEN_STAGES and date.due_at > now:
            times.append(date.due_at)
        return min(times, default=None)

    def _wake_summary(self) -> str:
        wake_at = self._next_wake()
        due = [d for d in self.deadlines.values() if d.due_at == wake_at]
        return f"Wait for actions or: {due[0].title}"[:190] if due else "Wait for actions"

    async def _take_due_actions(self) -> None:
        now = workflow.now()
        for d in sorted(self.deadlines.values(), key=lambda d: d.due_at):
            if d.status is not DeadlineStatus.pending or d.due_at > now:
                continue
            if d.kind == "deadline":
                await self._breach(d)
            elif d.kind == "duty":
                await self._duty_overdue(d)

    async def _breach(self, d: DeadlineView) -> None:
        d.status = DeadlineStatus.missed
        spec = self.pathway.deadlines[d.id]
        notices = []
        for action in spec.on_breach:
            if all(self.gates[g].done for g in action.only_if):
                notices.append(self._notice(action.notify, f"deadline missed: {d.title}",
                                            f"It was due {d.due_local}."))
        await self._record("deadline_missed", f"Deadline missed: {d.title} (due {d.due_local})",
                           notices=notices)

    async def _duty_overdue(self, d: DeadlineView) -> None:
        d.status = DeadlineStatus.missed
        spec = self.pathway.after_transfer[d.id]
        await self._record("duty_overdue", f"Post-transfer duty overdue: {d.title}",
                           notices=[self._notice(spec.remind, f"reminder: {d.title}",
                                                 f"It was due {d.due_local}.")])

    async def _advance(self, by_action: bool = False) -> None:
        """Take the automatic steps now due; `by_action` when a manager's action caused them."""
        if self.stage in OPEN_STAGES and self._transfer_due():
            await self._transfer(by_action)
        if self.stage is Stage.allocated and all(
                d.status is not DeadlineStatus.pending
                for d in self.deadlines.values() if d.kind == "duty"):
            self.stage = Stage.closed
            await self._record("closed", "Transfer complete: allocated and post-transfer duties "
                                         "done or overdue")

    def _requirements_met(self) -> bool:
        return all(self.gates[g].done for g in self.pathway.transfer.requires)

    def _transfer_due(self) -> bool:
        if not self._requirements_met():
            return False
        date = self.deadlines.get(TRANSFER_DATE)
        return date is None or date.due_at <= workflow.now()

    async def _transfer(self, by_action: bool) -> None:
        now = workflow.now()
        self.stage = Stage.transferred
        self.transferred_at = now
        self._reached("transferred")
        if TRANSFER_DATE in self.deadlines:
            self.deadlines[TRANSFER_DATE].status = DeadlineStatus.met
        duties = self.pathway.after_transfer
        if duties:
            planned = await self._plan(
                [PlanItem(name=n, start=now, within=d.within) for n, d in duties.items()], [])
            for due in planned.dues:
                self.deadlines[due.name] = DeadlineView(
                    id=due.name, title=duties[due.name].title, kind="duty",
                    due_at=due.due_at, due_local=due.due_local)
        skipped = [g.title for g in self.gates.values() if not g.done]
        date = self.deadlines.get(TRANSFER_DATE)
        if date is None:
            how = "as every required step is done"
        elif not by_action:
            how = f"on the agreed date ({date.due_local})"
        else:
            how = f"as the last requirement was met, after the agreed date ({date.due_local})"
        summary = f"Case transferred to {self.inp.pathway.receiving} {how}"
        if skipped:
            summary += "; not recorded before the transfer: " + "; ".join(skipped)
        await self._record("transferred", summary,
                           notices=self._notices(self.pathway.notify.transferred,
                                                 f"case transferred to {self.pathway.receiving}",
                                                 summary))

    # ----- manager actions -------------------------------------------------------------

    @workflow.update
    async def opened_plan(self) -> Opened:
        """Returns once the transfer is planned and recorded; the API's start call waits on it."""
        await workflow.wait_condition(lambda: self.opened)
        return Opened(request_id=self.inp.request_id, view=self._view())

    @workflow.update
    async def complete_gate(self, act: GateAction) -> TransferView:
        async with self.lock:
            gate_id = self._check_gate(act)
            gate = self.gates[gate_id]
            gate.done, gate.done_at, gate.done_by = True, workflow.now(), act.actor.staff_id
            gate.items, gate.attendees = act.items, act.attendees
            spec = self.pathway.gates[gate_id]
            if spec.kind is GateKind.meeting:
                gate.held = act.held
            self._reached(gate_id)
            if self.stage is Stage.proposed and self._requirements_met():
                self.stage = Stage.ready
            what = f"{spec.title}: recorded by {actor_words(act.actor)}"
            if act.attendees:
                what += f"; attended by {', '.join(act.attendees)}"
            await self._record("gate:" + gate_id, what, actor=act.actor, note_ref=act.note_ref,
                               notices=self._notices(spec.notify, spec.title))
            await self._advance(by_action=True)  # the answer shows what the action caused
        self.wake = True
        return self._view()

    @complete_gate.validator
    def _validate_gate(self, act: GateAction) -> None:
        self._check_gate(act)

    def _check_gate(self, act: GateAction) -> str:
        by_action = {g.action: gid for gid, g in self.gates.items()}
        gate_id = by_action.get(act.action)
        if gate_id is None:
            raise rejected("InvalidInput", f"'{act.action}' is not an action of pathway "
                           f"{self.inp.pathway_id}; its actions are: {', '.join(by_action)}")
        spec, gate = self.pathway.gates[gate_id], self.gates[gate_id]
        self._check_stage(OPEN_STAGES, f"record '{spec.title}'")
        if gate.done:
            raise rejected("WrongStage", f"{spec.title} was already recorded by {gate.done_by} "
                                         f"at {gate.done_at:%Y-%m-%d %H:%M} UTC")
        waiting = [self.pathway.gates[g].title for g in spec.after if not self.gates[g].done]
        if waiting:
            raise rejected("WrongStage", f"{spec.title} can be recorded only after: "
                                         + "; ".join(waiting))
        self._check_actor(spec.by, act.actor, f"record '{spec.title}'")
        if spec.kind is GateKind.checklist:
            missing = [i for i in spec.items if i not in act.items]
            unknown = [i for i in act.items if i not in spec.items]
            if missing or unknown:
                problems = [f"Not confirmed: {', '.join(missing)}." if missing else "",
                            f"Not on this checklist: {', '.join(unknown)}." if unknown else ""]
                raise rejected("InvalidInput", " ".join(
                    ["The checklist must confirm every item.", *filter(None, problems)]))
        elif act.items:
            raise rejected("InvalidInput", f"'{act.action}' is not a checklist; send no items")
        if act.attendees and spec.kind is not GateKind.meeting:
            raise rejected("InvalidInput", f"'{act.action}' is not a meeting; send no attendees")
        unknown = [a for a in act.attendees if a not in spec.attendees]
        if unknown:
            raise rejected("InvalidInput", f"Unknown attendees: {', '.join(unknown)}; "
                           f"expected some of: {', '.join(spec.attendees)}")
        return gate_id

    @workflow.update
    async def set_transfer_date(self, act: TransferDateAction) -> TransferView:
        async with self.lock:
            self._check_transfer_date(act)
            planned = await self._plan([], [PlanDate(name=TRANSFER_DATE, day=act.transfer_date)])
            due = planned.dues[0]
            date = self.deadlines[TRANSFER_DATE]
            date.due_at, date.due_local = due.due_at, due.due_local
            await self._record("transfer_date_set", f"Transfer date agreed for {due.due_local} "
                               f"by {actor_words(act.actor)}", actor=act.actor,
                               note_ref=act.note_ref)
            await self._advance(by_action=True)
        self.wake = True
        return self._view()

    @set_transfer_date.validator
    def _validate_transfer_date(self, act: TransferDateAction) -> None:
        self._check_transfer_date(act)

    def _check_transfer_date(self, act: TransferDateAction) -> None:
        rule = self.pathway.transfer.agreed_date
        if rule is None:
            raise rejected("WrongStage", f"Pathway {self.inp.pathway_id} transfers when its "
                                         "gates are done; it has no agreed date to set")
        self._check_stage(OPEN_STAGES, "set the transfer date")
        self._check_actor(rule.set_by, act.actor, "agree the transfer date")
        if act.transfer_date < self.inp.anchor_at.date():
            raise rejected("InvalidInput", "The transfer date cannot be before the "
                                           f"{self.pathway.anchor.title.lower()}")
        if self.calendar is not None and (act.transfer_date.weekday() >= 5 or
                                          act.transfer_date in self.calendar.non_working_dates):
            raise rejected("InvalidInput", f"{act.transfer_date:%A %d %B %Y} is not a working "
                                           "day; choose a working day for the transfer")
        limit = self.deadlines.get(rule.default)
        if limit is not None and act.transfer_date > limit.due_at.date():
            raise rejected("InvalidInput", f"The transfer date must be on or before the "
                                           f"deadline: {limit.title} ({limit.due_local})")

    @workflow.update
    async def allocate(self, act: AllocateAction) -> TransferView:
        async with self.lock:
            self._check_allocation(act)
            self.allocated_worker = act.worker_id
            self.stage = Stage.allocated
            self._reached("allocated")
            await self._record("allocated", f"Worker {act.worker_id} allocated by "
                               f"{actor_words(act.actor)}", actor=act.actor, note_ref=act.note_ref,
                               notices=self._notices(self.pathway.notify.allocated,
                                                     f"worker {act.worker_id} allocated"))
        self.wake = True
        return self._view()

    @allocate.validator
    def _validate_allocation(self, act: AllocateAction) -> None:
        self._check_allocation(act)

    def _check_allocation(self, act: AllocateAction) -> None:
        self._check_stage((Stage.transferred,), "allocate a worker")
        self._check_actor(self.pathway.allocation.by, act.actor, "allocate a worker")

    @workflow.update
    async def withdraw(self, act: WithdrawAction) -> TransferView:
        async with self.lock:
            self._check_withdrawal(act)
            self.stage = Stage.withdrawn
            await self._record("withdrawn", f"Transfer withdrawn by {actor_words(act.actor)}; "
                               f"{self.inp.pathway.sending} keeps the case", actor=act.actor,
                               note_ref=act.note_ref,
                               notices=self._notices(self.pathway.notify.withdrawn,
                                                     "transfer withdrawn"))
        self.wake = True
        return self._view()

    @withdraw.validator
    def _validate_withdrawal(self, act: WithdrawAction) -> None:
        self._check_withdrawal(act)

    def _check_withdrawal(self, act: WithdrawAction) -> None:
        self._check_stage(OPEN_STAGES, "withdraw the transfer")
        self._check_actor(self.pathway.withdraw_by, act.actor, "withdraw the transfer")

    @workflow.update
    async def complete_duty(self, act: DutyAction) -> TransferView:
        async with self.lock:
            duty_id = self._check_duty(act)
            d = self.deadlines[duty_id]
            d.status = DeadlineStatus.met if d.status is DeadlineStatus.pending \
                else DeadlineStatus.met_late
            await self._record("duty_done:" + duty_id, f"{d.title}: recorded as done by "
                               f"{actor_words(act.actor)}", actor=act.actor,
                               note_ref=act.note_ref)
        self.wake = True
        return self._view()

    @complete_duty.validator
    def _validate_duty(self, act: DutyAction) -> None:
        self._check_duty(act)

    def _check_duty(self, act: DutyAction) -> str:
        by_action = {self.pathway.duty_action(n): n for n in self.pathway.after_transfer}
        duty_id = by_action.get(act.action)
        if duty_id is None:
            raise rejected("InvalidInput", f"'{act.action}' is not a post-transfer duty of "
                                           f"pathway {self.inp.pathway_id}")
        d = self.deadlines.get(duty_id)
        if d is None or self.stage not in (Stage.transferred, Stage.allocated):
            raise rejected("WrongStage", f"{self.pathway.after_transfer[duty_id].title} is due "
                                         f"only after the transfer (stage now: {self.stage})")
        if d.status in (DeadlineStatus.met, DeadlineStatus.met_late):
            raise rejected("WrongStage", f"{d.title} is already recorded as done")
        self._check_actor(self.pathway.after_transfer[duty_id].by, act.actor, f"record {d.title}")
        return duty_id

    @workflow.query
    def view(self) -> TransferView:
        return self._view()

    # ----- helpers ---------------------------------------------------------------------

    def _check_stage(self, allowed: tuple[Stage, ...], doing: str) -> None:
        if not self.opened:
            raise rejected("WrongStage", "The transfer is still being opened; try again shortly")
        if self.stage not in allowed:
            raise rejected("WrongStage", f"Cannot {doing} now: the transfer is {self.stage.value}"
                                         f" (allowed when {' or '.join(allowed)})")

    def _check_actor(self, refs: list[RoleRef], actor: Actor, doing: str) -> None:
        if not any(actor.role == r.role and actor.team == self._team(r.side) for r in refs):
            raise rejected("NotPermitted", f"Only the {self._who(refs)} may {doing}; you are "
                                           f"signed in as {actor_words(actor)}")

    def _team(self, side: Side) -> str:
        return self.pathway.sending if side is Side.sending else self.pathway.receiving

    def _who(self, refs: list[RoleRef]) -> str:
        return role_words(refs, self.pathway.sending, self.pathway.receiving)

    def _reached(self, milestone: str) -> None:
        for name, spec in self.pathway.deadlines.items():
            d = self.deadlines.get(name)
            if d is None or spec.met_when != milestone:
                continue
            if d.status is DeadlineStatus.pending:
                d.status = DeadlineStatus.met
            elif d.status is DeadlineStatus.missed:
                d.status = DeadlineStatus.met_late

    def _waiting_for(self) -> list[str]:
        if self.stage in OPEN_STAGES:
            items = [
                f"{g.title} ({self._who(self.pathway.gates[gid].by)})"
                for gid, g in self.gates.items()
                if not g.done and all(self.gates[a].done for a in self.pathway.gates[gid].after)
            ]
            date = self.deadlines.get(TRANSFER_DATE)
            if date is not None:
                items.append(f"the agreed transfer date, {date.due_local}")
            return items
        if self.stage is Stage.transferred:
            return [f"allocation of a worker ({self._who(self.pathway.allocation.by)})"]
        if self.stage is Stage.allocated:
            return [f"{d.title} ({self._who(self.pathway.after_transfer[d.id].by)}), due "
                    f"{d.due_local}" for d in self.deadlines.values()
                    if d.kind == "duty" and d.status is DeadlineStatus.pending]
        return []

    def _view(self) -> TransferView:
        info = workflow.info()
        responsible = (self.pathway.receiving
                       if self.stage in (Stage.transferred, Stage.allocated, Stage.closed)
                       else self.pathway.sending)
        date = self.deadlines.get(TRANSFER_DATE)
        return TransferView(
            transfer_id=info.workflow_id, run_id=info.run_id, case_id=self.inp.case_id,
            children=self.inp.children, authority=self.inp.authority,
            pathway=self.inp.pathway_id, protocol_version=self.inp.protocol_version,
            stage=self.stage, from_team=self.pathway.sending, to_team=self.pathway.receiving,
            responsible_team=responsible, anchor=self.pathway.anchor.name,
            anchor_at=self.inp.anchor_at, transfer_date=date.due_at if date else None,
            transferred_at=self.transferred_at, allocated_worker=self.allocated_worker,
            gates=[g.model_copy() for g in self.gates.values()],
            deadlines=[d.model_copy() for d in self.deadlines.values()],
            waiting_for=self._waiting_for(), seq=self.seq,
        )

    def _notice(self, to: list[RoleRef], headline: str, detail: str = "") -> Notice:
        return notice(self._view(), to, headline, detail)

    def _notices(self, to: list[RoleRef], headline: str, detail: str = "") -> list[Notice]:
        return [self._notice(to, headline, detail)] if to else []

    async def _record(self, kind: str, summary: str, *, actor: Actor | None = None,
                      note_ref: str | None = None, notices: list[Notice] | None = None) -> None:
        """Write one change to the case store, then show it in the UI and send its emails."""
        self.seq += 1
        info = workflow.info()
        change = ChangeRecord(
            transfer_id=info.workflow_id, run_id=info.run_id, seq=self.seq, at=workflow.now(),
            kind=kind, summary=summary, actor=actor, note_ref=note_ref, view=self._view(),
            notices=notices or [],
        )
        await workflow.execute_activity(
            "record_change", change, start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY, summary=f"Record: {kind}"[:190],
        )
        self._publish(change.view)
        if change.notices:
            self.deliveries.append(workflow.start_activity(
                "deliver_notifications", DeliveryRequest(run_id=info.run_id, seq=self.seq),
                start_to_close_timeout=timedelta(minutes=2), retry_policy=MAIL_RETRY,
                summary=f"Email: {kind}"[:190],
            ))

    def _publish(self, view: TransferView) -> None:
        upcoming = view.next_deadline
        workflow.upsert_search_attributes([
            sa.STAGE.value_set(view.stage.value),
            sa.RESPONSIBLE_TEAM.value_set(view.responsible_team),
            sa.OVERDUE.value_set(view.overdue),
            sa.ESCALATION_LEVEL.value_set(view.escalation_level),
            sa.NEXT_DEADLINE.value_set(upcoming.due_at) if upcoming
            else sa.NEXT_DEADLINE.value_unset(),
        ])
        workflow.set_current_details(current_details(view))
