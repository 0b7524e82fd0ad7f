"""CaseTransferWorkflow: one transfer of a case between two teams, driven by its protocol.

The workflow interprets the pathway it was started with and nothing else: no
authority's rules live here. Its parts, each with one reason to change:

- `state`: what the transfer knows, and the decisions that follow from it (pure);
- `checks`: whether an action may be taken now, and why not (pure);
- `effects`: planning due times and recording a change (the only calls out);
- `clocks`, `disputes`, `transferring`, `gates`: what each kind of step sets going.

This module waits: for a manager's action (an Update, checked by its validator
before it is accepted) or for the next due time (a durable timer), and takes
the steps then due. Every change is written to the case store (event, current
row and outbox in one transaction) before the caller hears of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.transfer import (
        FINAL_STAGES,
        AllocateAction,
        DeadlineChange,
        DeadlineStatus,
        DisputeAction,
        DutyAction,
        GateAction,
        KeyDateAction,
        Opened,
        PlanDate,
        Recalculation,
        Stage,
        TransferDateAction,
        TransferInput,
        TransferView,
        WithdrawAction,
    )
    from workflows import checks, rules
    from workflows.disputes import CLOCKS_FIRST
    from workflows.effects import refusals
    from workflows.gates import Gates
    from workflows.state import KEY_DATE, TEAM_MANAGERS, TRANSFER_DATE, TransferState
    from workflows.wording import actor_words


# workflow.patched: the workflow checks the starter's role itself (the API did already), and a
# recalculation's asker's role, so a client reaching Temporal directly cannot skip either.
START_CHECKED = "start-checks-starter"
RECALCULATION_CHECKED = "recalculation-checks-asker"


@workflow.defn
class CaseTransferWorkflow(Gates):
    @workflow.init
    def __init__(self, inp: TransferInput) -> None:
        self.s = TransferState(inp)
        self.wake = False
        self.lock = asyncio.Lock()
        self.deliveries: list[Any] = []
        self.published: list[Any] | None = None

    # ----- the main loop: timers and automatic steps ------------------------------------

    @workflow.run
    async def run(self, inp: TransferInput) -> TransferView:
        s = self.s
        if workflow.patched(START_CHECKED):
            # Fails the workflow before anything is planned, recorded or sent.
            with refusals():
                rules.check_starter(s.pathway, inp.pathway_id, inp.started_by)
        async with self.lock:
            await self._start_clocks("anchor", inp.anchor_at)
            for name, day in inp.key_dates.items():
                await self._set_key_date(name, day)
            await self._record("started", f"Transfer proposed by {actor_words(inp.started_by)}",
                               actor=inp.started_by,
                               notices=self._notices(s.pathway.notify.started,
                                                     "transfer proposed to your team"))
        s.opened = True
        while s.stage not in FINAL_STAGES:
            async with self.lock:
                # Transfer first: a transfer on the deadline's own instant meets it.
                await self._advance()
                await self._take_due_actions()
                await self._advance()
            if s.stage in FINAL_STAGES:
                break
            self.wake = False
            wake_at = s.next_wake(workflow.now())
            timeout = None if wake_at is None else max(timedelta(0), wake_at - workflow.now())
            with contextlib.suppress(TimeoutError):  # a due time came: go round again
                await workflow.wait_condition(lambda: self.wake, timeout=timeout,
                                              timeout_summary=s.wake_summary(wake_at))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.deliveries)
        return self._view()

    async def _take_due_actions(self) -> None:
        s, now = self.s, workflow.now()
        for d in sorted(s.deadlines.values(), key=lambda d: d.due_at):
            if d.status is not DeadlineStatus.pending or d.paused_at is not None:
                continue
            while d.warned < len(d.warn_at) and d.warn_at[d.warned] <= now and d.due_at > now:
                await self._warn(d)
            if d.due_at > now:
                continue
            if d.kind == "deadline":
                await self._breach(d)
            elif d.kind == "duty":
                await self._duty_overdue(d)
            elif d.kind == "period":
                await self._period_ended(d)
            elif d.kind == KEY_DATE:
                await self._key_date_reached(d)
        for task in s.tasks.values():
            if task.remind_at is not None and task.remind_at <= now and not task.reminded \
                    and not task.done:
                await self._remind_task(task)
        if s.dispute is not None and s.dispute.level_due_at is not None \
                and s.dispute.level_due_at <= now:
            await self._climb_ladder()

    # ----- manager actions -------------------------------------------------------------

    @workflow.update
    async def opened_plan(self) -> Opened:
        """Returns once the transfer is planned and recorded; the API's start call waits on it."""
        await workflow.wait_condition(lambda: self.s.opened)
        return Opened(request_id=self.s.inp.request_id, view=self._view())

    @opened_plan.validator
    def _validate_opened_plan(self) -> None:
        # The start's caller hears the refusal at once (update-with-start), and the run fails.
        inp = self.s.inp
        with refusals():
            rules.check_starter(inp.pathway, inp.pathway_id, inp.started_by)

    @workflow.update
    async def complete_gate(self, act: GateAction) -> TransferView:
        async with self.lock:
            with refusals():
                gate_id, outcome_name = checks.check_gate(self.s, act, workflow.now())
            await self._answer_gate(gate_id, outcome_name, act)
        self.wake = True
        return self._view()

    @complete_gate.validator
    def _validate_gate(self, act: GateAction) -> None:
        with refusals():
            checks.check_gate(self.s, act, workflow.now())

    @workflow.update
    async def dispute_step(self, act: DisputeAction) -> TransferView:
        async with self.lock:
            with refusals():
                checks.check_dispute_step(self.s, act)
            if act.kind == "raise":
                rule = self.s.pathway.raise_dispute
                assert rule is not None
                await self._start_dispute(None, rule.ladder, act)
            elif act.kind == "acknowledge":
                await self._acknowledge(act)
            else:
                await self._resolve(act)
        self.wake = True
        return self._view()

    @dispute_step.validator
    def _validate_dispute_step(self, act: DisputeAction) -> None:
        with refusals():
            checks.check_dispute_step(self.s, act)

    @workflow.update
    async def change_deadline(self, act: DeadlineChange) -> TransferView:
        async with self.lock:
            with refusals():
                d = checks.check_deadline_change(self.s, act, workflow.now())
            what = await self._change_deadline(d, act)
            if what is not None:
                await self._record(f"deadline_{act.kind}", f"{what} by {actor_words(act.actor)}",
                                   actor=act.actor, note_ref=act.note_ref)
        self.wake = True
        return self._view()

    @change_deadline.validator
    def _validate_deadline_change(self, act: DeadlineChange) -> None:
        with refusals():
            checks.check_deadline_change(self.s, act, workflow.now())

    @workflow.update
    async def set_transfer_date(self, act: TransferDateAction) -> TransferView:
        async with self.lock:
            with refusals():
                checks.check_transfer_date(self.s, act)
            planned = await self._plan([], [PlanDate(name=TRANSFER_DATE, day=act.transfer_date)])
            due = planned.dues[0]
            self._set_transfer_date(due.due_at, due.due_local)
            self.s.agreed_date_set = True
            await self._record("transfer_date_set", f"Transfer date agreed for {due.due_local} "
                               f"by {actor_words(act.actor)}", actor=act.actor,
                               note_ref=act.note_ref)
            await self._advance(by_action=True)
        self.wake = True
        return self._view()

    @set_transfer_date.validator
    def _validate_transfer_date(self, act: TransferDateAction) -> None:
        with refusals():
            checks.check_transfer_date(self.s, act)

    @workflow.update
    async def allocate(self, act: AllocateAction) -> TransferView:
        s = self.s
        async with self.lock:
            with refusals():
                checks.check_allocation(s, act)
            s.allocated_worker, s.allocated_at = act.worker_id, workflow.now()
            s.stage = Stage.allocated
            late = [d for d in s.deadlines.values()
                    if d.met_when == "allocated" and d.status is DeadlineStatus.missed]
            s.reached("allocated")
            what = f"Worker {act.worker_id} allocated by {actor_words(act.actor)}"
            if late:
                what += f" (late: {late[0].title} was due {late[0].due_local})"
            clocks_first = workflow.patched(CLOCKS_FIRST)
            if clocks_first:
                await self._start_clocks("allocated", workflow.now())
            await self._record("allocated", what, actor=act.actor, note_ref=act.note_ref,
                               notices=self._notices(s.pathway.notify.allocated,
                                                     f"worker {act.worker_id} allocated"))
            if not clocks_first:
                await self._start_clocks("allocated", workflow.now())
            await self._advance(by_action=True)
        self.wake = True
        return self._view()

    @allocate.validator
    def _validate_allocation(self, act: AllocateAction) -> None:
        with refusals():
            checks.check_allocation(self.s, act)

    @workflow.update
    async def withdraw(self, act: WithdrawAction) -> TransferView:
        s = self.s
        async with self.lock:
            with refusals():
                checks.check_withdrawal(s, act)
            s.stage, s.dispute = Stage.withdrawn, None
            await self._record("withdrawn", f"Transfer withdrawn by {actor_words(act.actor)}; "
                               f"{s.pathway.sending} keeps the case", actor=act.actor,
                               note_ref=act.note_ref,
                               notices=self._notices(s.pathway.notify.withdrawn,
                                                     "transfer withdrawn"))
        self.wake = True
        return self._view()

    @withdraw.validator
    def _validate_withdrawal(self, act: WithdrawAction) -> None:
        with refusals():
            checks.check_withdrawal(self.s, act)

    @workflow.update
    async def complete_duty(self, act: DutyAction) -> TransferView:
        async with self.lock:
            with refusals():
                duty_id, reopening = checks.check_duty(self.s, act)
            await self._complete_duty(duty_id, reopening, act)
        self.wake = True
        return self._view()

    @complete_duty.validator
    def _validate_duty(self, act: DutyAction) -> None:
        with refusals():
            checks.check_duty(self.s, act)

    @workflow.update
    async def set_key_date(self, act: KeyDateAction) -> TransferView:
        """A plain date given by whoever holds the child's details (never the date of birth)."""
        async with self.lock:
            with refusals():
                checks.check_key_date(self.s, act)
            before = self.s.key_dates.get(act.name)
            await self._set_key_date(act.name, act.day)
            title = self.s.pathway.key_dates[act.name].title
            what = f"{title}: {act.day:%a %-d %b %Y}" + (
                f" (was {before:%a %-d %b %Y})" if before and before != act.day else "")
            await self._record(f"key_date_set:{act.name}", f"{what}; set by "
                               f"{actor_words(act.actor)}", actor=act.actor,
                               note_ref=act.note_ref)
            await self._advance(by_action=True)
        self.wake = True
        return self._view()

    @set_key_date.validator
    def _validate_key_date(self, act: KeyDateAction) -> None:
        with refusals():
            checks.check_key_date(self.s, act)

    @workflow.update
    async def recalculate(self, req: Recalculation) -> TransferView:
        """Re-plan pending deadlines on purpose (a new bank holiday, a corrected protocol)."""
        s = self.s
        async with self.lock:
            with refusals():
                checks.check_recalculation(s, req)
            asker_checked = workflow.patched(RECALCULATION_CHECKED)
            if asker_checked:
                with refusals():
                    rules.check_recalculation_by(s.pathway, req, s.parties)
            if req.pathway is not None:
                s.pathway = req.pathway
            if req.calendar is not None:
                s.calendar_spec = req.calendar
            s.calendar = None  # resolve the calendar again: new bank holidays count
            changes = await self._replan()
            asker = actor_words(req.actor) if asker_checked else req.requested_by
            # The reason is in the case store under note_ref; a request from before that
            # (note_ref None, in history as such) is recorded as it was, so replay matches.
            why = "see the note" if req.note_ref is not None else req.reason
            await self._record("recalculated", f"Deadlines recalculated ({why}), asked "
                               f"by {asker}: " + ("; ".join(changes) or "no change"),
                               actor=req.actor if asker_checked else None,
                               note_ref=req.note_ref,
                               notices=self._notices(TEAM_MANAGERS, "deadlines recalculated",
                                                     "; ".join(changes)) if changes else [])
        self.wake = True
        return self._view()

    @recalculate.validator
    def _validate_recalculation(self, req: Recalculation) -> None:
        with refusals():
            # Here only (validators do not run on replay): requests from before note refs
            # carried the reason as text, and their histories must still replay.
            checks.check_reason_is_a_ref(req)
            checks.check_recalculation(self.s, req)
            rules.check_recalculation_by(self.s.pathway, req, self.s.parties)

    @workflow.query
    def view(self) -> TransferView:
        return self._view()
