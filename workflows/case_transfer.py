"""CaseTransferWorkflow: one transfer of a case between two teams, driven by its protocol.

The workflow interprets the pathway it was started with (gates and their
outcomes, the transfer rule, deadlines with warnings and breach actions, the
dispute ladder, post-transfer duties) and nothing else: no authority's rules
live here. Manager actions arrive as Updates whose validators check stage,
role and input; deadlines are durable timers on due times planned by an
activity; every change is written to the case store by one activity (event,
current row and outbox in one transaction) before the caller hears of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models import search_attributes as sa
    from models.days import (
        add_working_days,
        last_working_day_on_or_before,
        subtract_working_days,
    )
    from models.protocol import (
        DurationUnit,
        DutyKind,
        GateKind,
        Outcome,
        Pathway,
        Role,
        RoleRef,
        Side,
    )
    from models.transfer import (
        FINAL_STAGES,
        Actor,
        AllocateAction,
        ChangeRecord,
        DeadlineChange,
        DeadlineStatus,
        DeadlineView,
        DeliveryRequest,
        DisputeAction,
        DisputeView,
        DutyAction,
        GateAction,
        GateView,
        Notice,
        Opened,
        PlanDate,
        PlanInstant,
        PlanItem,
        PlanRequest,
        PlanResult,
        Recalculation,
        ResolvedCalendar,
        Stage,
        TeamRole,
        TransferDateAction,
        TransferInput,
        TransferView,
        WithdrawAction,
    )
    from workflows.rules import (
        check_actor,
        holds,
        level_refs,
        levels_of,
        rejected,
        warn_times,
        who,
    )
    from workflows.wording import actor_words, current_details, notice

OPEN_STAGES = (Stage.proposed, Stage.ready, Stage.disputed)
AFTER_TRANSFER = (Stage.transferred, Stage.allocated)
STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                          maximum_interval=timedelta(minutes=1))
# A local activity retries inside its workflow task until its back-off reaches this, then by
# a durable timer: a store outage holds a transfer's workflow task for seconds, not a minute.
LOCAL_RETRY_THRESHOLD = timedelta(seconds=5)
MAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5),
                         maximum_interval=timedelta(minutes=10))
TRANSFER_DATE = "transfer_date"
CLOCKS_FIRST = "clocks-before-record"  # workflow.patched: see complete_gate
# workflow.patched: record and plan as local activities, search attributes upserted only when
# they change (fewer history events per change; see docs/BENCHMARKS.md). Histories from
# before it replay on the old path.
LEAN_HISTORY = "lean-history"
LADDER_STEP = "ladder_step"
TEAM_MANAGERS = [RoleRef(role=Role.team_manager, side=Side.sending),
                 RoleRef(role=Role.team_manager, side=Side.receiving)]


@workflow.defn
class CaseTransferWorkflow:
    @workflow.init
    def __init__(self, inp: TransferInput) -> None:
        self.inp = inp
        self.pathway: Pathway = inp.pathway
        self.calendar_spec = inp.calendar
        self.calendar: ResolvedCalendar | None = None
        self.stage = Stage.proposed
        self.seq = 0
        self.opened = False
        self.wake = False
        self.lock = asyncio.Lock()
        self.transferred_at: datetime | None = None
        self.allocated_worker: str | None = None
        self.allocated_at: datetime | None = None
        self.redirected_to: str | None = None
        self.dispute: DisputeView | None = None
        self.agreed_date_set = inp.agreed_transfer_date is not None
        self.deliveries: list[Any] = []
        self.follow_up_notify: dict[str, list[RoleRef]] = {}
        self.extension_offers: dict[str, dict[str, str]] = {}  # deadline -> side -> date
        self.gates = {
            gid: GateView(id=gid, title=g.title, action=self.pathway.gate_action(gid))
            for gid, g in self.pathway.gates.items()
        }
        self.deadlines: dict[str, DeadlineView] = {}
        self.published: list[Any] | None = None

    # ----- the main loop: timers and automatic steps ------------------------------------

    @workflow.run
    async def run(self, inp: TransferInput) -> TransferView:
        async with self.lock:
            await self._start_clocks("anchor", inp.anchor_at)
            await self._record("started", f"Transfer proposed by {actor_words(inp.started_by)}",
                               actor=inp.started_by,
                               notices=self._notices(self.pathway.notify.started,
                                                     "transfer proposed to your team"))
        self.opened = True
        while self.stage not in FINAL_STAGES:
            async with self.lock:
                # Transfer first: a transfer on the deadline's own instant meets it.
                await self._advance()
                await self._take_due_actions()
                await self._advance()
            if self.stage in FINAL_STAGES:
                break
            self.wake = False
            wake_at = self._next_wake()
            timeout = None if wake_at is None else max(timedelta(0), wake_at - workflow.now())
            with contextlib.suppress(TimeoutError):  # a due time came: go round again
                await workflow.wait_condition(lambda: self.wake, timeout=timeout,
                                              timeout_summary=self._wake_summary(wake_at))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.deliveries)
        return self._view()

    def _next_wake(self) -> datetime | None:
        now = workflow.now()
        times = []
        for d in self.deadlines.values():
            if d.status is not DeadlineStatus.pending or d.paused_at is not None:
                continue
            if d.kind == TRANSFER_DATE:
                if self.stage in OPEN_STAGES and d.due_at > now:
                    times.append(d.due_at)
                continue
            times.append(d.due_at)
            times += d.warn_at[d.warned:d.warned + 1]
        if self.dispute is not None and self.dispute.level_due_at is not None:
            times.append(self.dispute.level_due_at)
        return min(times, default=None)

    def _wake_summary(self, wake_at: datetime | None) -> str:
        due = [d.title for d in self.deadlines.values() if d.due_at == wake_at]
        if self.dispute is not None and self.dispute.level_due_at == wake_at:
            due.append(f"{self.dispute.title}: next level")
        return f"Wait for actions or: {due[0]}"[:190] if due else "Wait for actions"

    async def _take_due_actions(self) -> None:
        now = workflow.now()
        for d in sorted(self.deadlines.values(), key=lambda d: d.due_at):
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
        if self.dispute is not None and self.dispute.level_due_at is not None \
                and self.dispute.level_due_at <= now:
            await self._climb_ladder()

    async def _advance(self, by_action: bool = False) -> None:
        """Take the automatic steps now due; `by_action` when a manager's action caused them."""
        if self.stage in (Stage.proposed, Stage.ready) and self._transfer_due():
            await self._transfer(by_action)
        if self.stage is Stage.allocated and all(
                d.status is not DeadlineStatus.pending
                for d in self.deadlines.values() if d.kind != TRANSFER_DATE):
            self.stage = Stage.closed
            await self._record("closed", "Transfer complete: allocated, and every deadline and "
                                         "post-transfer duty met, missed or ended")

    def _requirements_met(self) -> bool:
        return all(self.gates[g].done for g in self.pathway.transfer.requires)

    def _transfer_due(self) -> bool:
        if not self._requirements_met():
            return False
        if self.pathway.transfer.agreed_date is None:
            return True
        # No date yet (its default deadline has not started): wait for it.
        date = self.deadlines.get(TRANSFER_DATE)
        return date is not None and date.due_at <= workflow.now()

    # ----- clocks ----------------------------------------------------------------------

    async def _plan(self, items: list[PlanItem], dates: list[PlanDate] | None = None,
                    instants: list[PlanInstant] | None = None) -> PlanResult:
        request = PlanRequest(calendar=self.calendar_spec, resolved=self.calendar, items=items,
                              dates=dates or [], instants=instants or [])
        summary = "Plan due times on the protocol's calendar"
        result: PlanResult
        if self._lean():
            result = await workflow.execute_local_activity(
                "plan_deadlines", request, result_type=PlanResult, summary=summary,
                start_to_close_timeout=timedelta(seconds=15), retry_policy=STORE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD)
        else:
            result = await workflow.execute_activity(
                "plan_deadlines", request, result_type=PlanResult, summary=summary,
                start_to_close_timeout=timedelta(seconds=15), retry_policy=STORE_RETRY)
        self.calendar = result.resolved or self.calendar
        return result

    async def _start_clocks(self, event: str, at: datetime) -> None:
        """Plan every deadline that starts with `event` (the anchor, a gate, the transfer ...)."""
        specs = {n: d for n, d in self.pathway.deadlines.items() if d.start == event}
        dates, instants = [], []
        if event == "anchor":
            # Always plan at the anchor, so the calendar is frozen from the start even for a
            # pathway with no clock yet: validators check working days and notice against it.
            instants.append(PlanInstant(name="anchor", at=at))
            if self.inp.agreed_transfer_date is not None:
                dates.append(PlanDate(name=TRANSFER_DATE, day=self.inp.agreed_transfer_date))
        if not specs and not dates and not instants:
            return
        result = await self._plan(
            [PlanItem(name=n, start=at, within=d.within) for n, d in specs.items()], dates,
            instants)
        dues = {due.name: due for due in result.dues}
        for name, spec in specs.items():
            due = dues[name]
            self.deadlines[name] = DeadlineView(
                id=name, title=spec.title, due_at=due.due_at, due_local=due.due_local,
                met_when=spec.met_when, start_at=at,
                warn_at=warn_times(at, due.due_at, spec.warn.at) if spec.warn else [],
                status=DeadlineStatus.met if self._milestone_done(spec.met_when)
                else DeadlineStatus.pending)
        rule = self.pathway.transfer.agreed_date
        # The agreed date: given at the start, or set later, or else the default deadline's
        # due time once that deadline starts (at the anchor, or e.g. at the transfer meeting).
        if TRANSFER_DATE in dues:
            self._set_transfer_date(dues[TRANSFER_DATE].due_at, dues[TRANSFER_DATE].due_local)
        elif rule is not None and rule.default in dues:
            await self._default_transfer_date()

    async def _default_transfer_date(self) -> None:
        """Unless a date was agreed, the case moves on its default deadline's day (or the last
        working day before it: a default never moves a case on a closed day)."""
        rule = self.pathway.transfer.agreed_date
        source = self.deadlines.get(rule.default) if rule else None
        if source is None or (self.agreed_date_set and TRANSFER_DATE in self.deadlines):
            return
        due_at, due_local = source.due_at, source.due_local
        closed = frozenset(self.calendar.non_working_dates if self.calendar else [])
        working = last_working_day_on_or_before(due_at.date(), closed)
        if working != due_at.date():
            moved = await self._plan([], [PlanDate(name=TRANSFER_DATE, day=working)])
            due_at, due_local = moved.dues[0].due_at, moved.dues[0].due_local
        self._set_transfer_date(due_at, due_local)

    def _set_transfer_date(self, due_at: datetime, due_local: str) -> None:
        date = self.deadlines.get(TRANSFER_DATE)
        if date is None:
            self.deadlines[TRANSFER_DATE] = DeadlineView(
                id=TRANSFER_DATE, title="Agreed transfer date", kind=TRANSFER_DATE,
                met_when="transferred", due_at=due_at, due_local=due_local)
        else:
            date.due_at, date.due_local = due_at, due_local

    def _milestone_done(self, milestone: str) -> bool:
        if milestone == "transferred":
            return self.transferred_at is not None
        if milestone == "allocated":
            return self.allocated_worker is not None
        gate_id, _, answered = milestone.partition(":")
        if gate_id not in self.gates:
            return False
        gate = self.gates[gate_id]
        return gate.outcome is not None if answered else gate.done

    def _reached(self, milestone: str) -> None:
        for d in self.deadlines.values():
            if d.met_when != milestone:
                continue
            if d.status is DeadlineStatus.pending:
                d.status = DeadlineStatus.met
            elif d.status is DeadlineStatus.missed:
                d.status = DeadlineStatus.met_late

    async def _warn(self, d: DeadlineView) -> None:
        spec = self.pathway.deadlines.get(d.id)
        if spec is None or spec.warn is None:  # a corrected protocol dropped the warning
            d.warned = len(d.warn_at)
            return
        share = round(sorted(spec.warn.at)[d.warned] * 100)
        d.warned += 1
        await self._record("deadline_warning", f"{share}% of the time for {d.title} has passed",
                           notices=[self._notice(spec.warn.notify, f"{share}% of the time gone: "
                                                 f"{d.title}", f"It is due {d.due_local}.")])

    async def _breach(self, d: DeadlineView) -> None:
        d.status = DeadlineStatus.missed
        spec = self.pathway.deadlines.get(d.id)
        notices, force = [], False
        if d.id in self.follow_up_notify:  # a date set by an outcome (e.g. re-presentation)
            notices.append(self._notice(self.follow_up_notify[d.id], f"date missed: {d.title}"))
        for action in spec.on_breach if spec else []:
            if not all(self.gates[g].done for g in action.only_if):
                continue
            if action.notify:
                notices.append(self._notice(action.notify, f"deadline missed: {d.title}",
                                            f"It was due {d.due_local}."))
            force = force or action.transfer
        await self._record("deadline_missed", f"Deadline missed: {d.title} (due {d.due_local})",
                           notices=notices)
        if force and self.stage in (Stage.proposed, Stage.ready):
            await self._transfer(by_action=False, forced_by=d.title)

    async def _duty_overdue(self, d: DeadlineView) -> None:
        d.status = DeadlineStatus.missed
        spec = self.pathway.after_transfer[d.id]
        await self._record("duty_overdue", f"Post-transfer duty overdue: {d.title}",
                           notices=[self._notice(spec.remind, f"reminder: {d.title}",
                                                 f"It was due {d.due_local}.")])

    async def _period_ended(self, d: DeadlineView) -> None:
        d.status = DeadlineStatus.met
        spec = self.pathway.after_transfer[d.id]
        await self._record("period_ended", f"{d.title}: ended",
                           notices=self._notices(spec.on_end, f"ended: {d.title}"))

    # ----- the transfer itself ---------------------------------------------------------

    async def _transfer(self, by_action: bool, forced_by: str | None = None) -> None:
        now = workflow.now()
        self.stage = Stage.transferred
        self.transferred_at = now
        self._reached("transferred")
        duties = self.pathway.after_transfer
        if duties:
            starts = {n: self.inp.anchor_at if d.start == "anchor" else now
                      for n, d in duties.items()}
            planned = await self._plan(
                [PlanItem(name=n, start=starts[n], within=d.within) for n, d in duties.items()])
            for due in planned.dues:
                kind = "period" if duties[due.name].kind is DutyKind.period else "duty"
                self.deadlines[due.name] = DeadlineView(
                    id=due.name, title=duties[due.name].title, kind=kind,
                    start_at=starts[due.name], due_at=due.due_at, due_local=due.due_local)
        await self._start_clocks("transferred", now)
        skipped = [g.title for g in self.gates.values() if not g.done]
        date = self.deadlines.get(TRANSFER_DATE)
        if forced_by:
            how = f"automatically, as the deadline passed ({forced_by})"
        elif date is None:
            how = "as every required step is done"
        elif not by_action:
            how = f"on the agreed date ({date.due_local})"
        else:
            how = f"as the last requirement was met, after the agreed date ({date.due_local})"
        summary = f"Case transferred to {self.pathway.receiving} {how}"
        if skipped:
            summary += "; not recorded before the transfer: " + "; ".join(skipped)
        await self._record("transferred", summary,
                           notices=self._notices(self.pathway.notify.transferred,
                                                 f"case transferred to {self.pathway.receiving}",
                                                 summary))

    # ----- the dispute ladder ----------------------------------------------------------

    async def _start_dispute(self, gate_id: str, ladder_name: str, act: GateAction) -> None:
        ladder = self.pathway.ladders[ladder_name]
        self.stage = Stage.disputed
        self.dispute = DisputeView(ladder=ladder_name, title=ladder.title, gate=gate_id,
                                   level_role=ladder.levels[0].role.value,
                                   started_at=workflow.now())
        await self._plan_level(self.dispute.started_at)
        await self._record(
            "disputed", f"{self.pathway.gates[gate_id].title}: disputed by "
                        f"{actor_words(act.actor)}; referred to {self._level_words()}",
            actor=act.actor, note_ref=act.note_ref,
            notices=[self._notice(level_refs(ladder, 0), f"dispute referred to you: "
                                  f"{ladder.title}", self._resolve_by())])

    async def _plan_level(self, start: datetime) -> None:
        """Plan the current level's due time; a level's time runs from the previous one's end."""
        assert self.dispute is not None
        spec = self.pathway.ladders[self.dispute.ladder].levels[self.dispute.level]
        if spec.allow is None:
            self.dispute.level_due_at, self.dispute.level_due_local = None, ""
            return
        planned = await self._plan([PlanItem(name=LADDER_STEP, start=start, within=spec.allow)])
        self.dispute.level_due_at = planned.dues[0].due_at
        self.dispute.level_due_local = planned.dues[0].due_local

    def _level_words(self) -> str:
        assert self.dispute is not None
        ladder = self.pathway.ladders[self.dispute.ladder]
        return who(self.pathway, level_refs(ladder, self.dispute.level))

    def _resolve_by(self) -> str:
        assert self.dispute is not None
        if self.dispute.level_due_at is None:
            return "The time allowed for resolving it has run out."
        return f"Resolve it by {self.dispute.level_due_local}."

    async def _climb_ladder(self) -> None:
        assert self.dispute is not None
        ladder = self.pathway.ladders[self.dispute.ladder]
        ended = self.dispute.level_due_at
        assert ended is not None
        self.dispute.level += 1
        self.dispute.level_role = ladder.levels[self.dispute.level].role.value
        self.dispute.acknowledged_by = []
        await self._plan_level(ended)
        refs = level_refs(ladder, self.dispute.level)
        if self.dispute.level_due_at is None:
            allowed = self._time_allowed(ladder_name=self.dispute.ladder)
            await self._record("escalation_limit_breached",
                               f"{ladder.title}: not resolved within {allowed}; "
                               f"{self._level_words()} told",
                               notices=[self._notice(refs, f"dispute not resolved within "
                                                     f"{allowed}: {ladder.title}")])
        else:
            await self._record("escalated", f"{ladder.title}: not resolved in time; escalated "
                                            f"to {self._level_words()}",
                               notices=[self._notice(refs, f"dispute escalated to you: "
                                                     f"{ladder.title}", self._resolve_by())])

    def _time_allowed(self, ladder_name: str) -> str:
        levels = self.pathway.ladders[ladder_name].levels
        allows = [lv.allow for lv in levels if lv.allow is not None]
        if len({a.unit for a in allows}) == 1:
            return str(allows[0].model_copy(update={"amount": sum(a.amount for a in allows)}))
        return " + ".join(str(a) for a in allows)

    # ----- manager actions -------------------------------------------------------------

    @workflow.update
    async def opened_plan(self) -> Opened:
        """Returns once the transfer is planned and recorded; the API's start call waits on it."""
        await workflow.wait_condition(lambda: self.opened)
        return Opened(request_id=self.inp.request_id, view=self._view())

    @workflow.update
    async def complete_gate(self, act: GateAction) -> TransferView:
        async with self.lock:
            gate_id, outcome_name = self._check_gate(act)
            outcome = self.pathway.outcomes(gate_id)[outcome_name]
            spec, gate = self.pathway.gates[gate_id], self.gates[gate_id]
            gate.outcome = outcome_name
            self._reached(f"{gate_id}:answered")  # e.g. considered at the meeting, whatever
            said = "recorded" if outcome_name == "done" else outcome_name.replace("_", " ")
            what = f"{spec.title}: {said} by {actor_words(act.actor)}"
            if outcome.completes:
                gate.done, gate.done_at, gate.done_by = True, workflow.now(), act.actor.staff_id
                gate.items, gate.attendees = act.items, act.attendees
                self._reached(gate_id)
                if act.attendees:
                    what += f"; attended by {', '.join(act.attendees)}"
                if self.dispute is not None and self.dispute.gate == gate_id:
                    self.dispute = None  # the disputing manager accepted after all
            for other in outcome.reopens:
                self.gates[other] = GateView(id=other, title=self.gates[other].title,
                                             action=self.gates[other].action)
                what += f"; to be done again: {self.gates[other].title}"
            if outcome.needs_date and act.on_date is not None:
                what += await self._follow_up(gate_id, outcome_name, outcome, act)
            # Clocks the step starts go into the recorded row (work trays, NextDeadlineAt);
            # transfers that began before this change still plan them afterwards.
            clocks_first = workflow.patched(CLOCKS_FIRST)
            if clocks_first and outcome.completes:
                await self._start_clocks(gate_id, workflow.now())
            if outcome.dispute:
                await self._start_dispute(gate_id, outcome.dispute, act)
            else:
                self._settle_stage()
                kind = f"gate:{gate_id}" + ("" if outcome_name == "done" else f":{outcome_name}")
                await self._record(kind, what, actor=act.actor, note_ref=act.note_ref,
                                   notices=self._notices([*spec.notify, *outcome.notify],
                                                         f"{spec.title}: {outcome_name}"
                                                         if outcome_name != "done"
                                                         else spec.title))
            if outcome.completes and not clocks_first:
                await self._start_clocks(gate_id, workflow.now())
            await self._advance(by_action=True)  # the answer shows what the action caused
        self.wake = True
        return self._view()

    @complete_gate.validator
    def _validate_gate(self, act: GateAction) -> None:
        self._check_gate(act)

    async def _follow_up(self, gate_id: str, name: str, outcome: Outcome, act: GateAction
                         ) -> str:
        assert act.on_date is not None
        day = act.on_date
        before = outcome.follow_up_before
        if before is not None:  # e.g. managers meet at least 5 days before the hearing
            closed = frozenset(self.calendar.non_working_dates if self.calendar else [])
            day = (subtract_working_days(day, before.amount, closed)
                   if before.unit is DurationUnit.working_days
                   else day - timedelta(days=before.amount))
        planned = await self._plan([], [PlanDate(name="date", day=act.on_date),
                                         PlanDate(name="follow_up", day=day)])
        given, due = planned.dues
        if outcome.follow_up:
            key = f"{gate_id}:{name}"
            met_by = outcome.follow_up_met_by or gate_id
            self.deadlines[key] = DeadlineView(
                id=key, title=outcome.follow_up, due_at=due.due_at, due_local=due.due_local,
                met_when=met_by, start_at=workflow.now(),
                status=DeadlineStatus.met if self._milestone_done(met_by)
                else DeadlineStatus.pending)
            self.follow_up_notify[key] = [*self.pathway.gates[gate_id].by, *outcome.notify]
        return f"; date set for {given.due_local}"

    def _settle_stage(self) -> None:
        if self.stage in (Stage.proposed, Stage.ready, Stage.disputed) and self.dispute is None:
            self.stage = Stage.ready if self._requirements_met() else Stage.proposed

    def _check_gate(self, act: GateAction) -> tuple[str, str]:
        self._check_opened()
        by_action = self.pathway.actions()
        if act.action not in by_action:
            raise rejected("InvalidInput", f"'{act.action}' is not an action of pathway "
                           f"{self.inp.pathway_id}; its actions are: {', '.join(by_action)}")
        gate_id, outcome_name = by_action[act.action]
        spec, gate = self.pathway.gates[gate_id], self.gates[gate_id]
        outcome = self.pathway.outcomes(gate_id)[outcome_name]
        late_ok = gate_id not in self.pathway.transfer.requires and outcome.completes \
            and not outcome.dispute  # e.g. outstanding records, which never delay a transfer
        self._check_stage(OPEN_STAGES + (AFTER_TRANSFER if late_ok else ()),
                          f"record '{spec.title}'")
        if gate.done:
            raise rejected("WrongStage", f"{spec.title} was already recorded by {gate.done_by} "
                                         f"at {gate.done_at:%Y-%m-%d %H:%M} UTC")
        if outcome.dispute and self.dispute is not None:
            raise rejected("WrongStage", f"The transfer is already disputed ({self.dispute.title}"
                                         f", with {self._level_words()})")
        waiting = [self.pathway.gates[g].title for g in spec.after if not self.gates[g].done]
        if waiting:
            raise rejected("WrongStage", f"{spec.title} can be recorded only after: "
                                         + "; ".join(waiting))
        check_actor(self.pathway, spec.by, act.actor, f"record '{spec.title}'")
        if outcome.reason_required and act.note_ref is None:
            raise rejected("InvalidInput", f"Say why in 'note' to {act.action}")
        if outcome.needs_date:
            self._check_working_day(act.on_date, f"{act.action} needs a 'date'")
            self._check_notice(act, outcome)
        if spec.kind is GateKind.checklist and outcome.completes:
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
        absent = [a for a in spec.required_attendees if a not in act.attendees]
        if outcome.completes and absent:
            raise rejected("InvalidInput", f"{spec.title} counts only with "
                                           f"{', '.join(absent)} attending")
        return gate_id, outcome_name

    def _check_notice(self, act: GateAction, outcome: Outcome) -> None:
        notice_needed = outcome.min_notice
        if notice_needed is None or act.on_date is None or self.calendar is None:
            return
        # Notice runs from the referral (the anchor) or from today, whichever is later.
        today = max(workflow.now().date(), self.inp.anchor_at.date())
        if notice_needed.unit is DurationUnit.working_days:
            closed = frozenset(self.calendar.non_working_dates)
            earliest = add_working_days(today, notice_needed.amount, closed)
        else:
            earliest = today + timedelta(days=notice_needed.amount)
        if act.on_date < earliest:
            raise rejected("InvalidInput", f"{act.action} needs {notice_needed} notice: the "
                                           f"earliest date is {earliest:%A %d %B %Y}")

    def _check_working_day(self, day: Any, missing: str) -> None:
        if day is None:
            raise rejected("InvalidInput", missing)
        if day < workflow.now().date():
            raise rejected("InvalidInput", f"{day:%A %d %B %Y} has passed; choose a later date")
        if self.calendar is not None and (day.weekday() >= 5 or
                                          day in self.calendar.non_working_dates):
            raise rejected("InvalidInput", f"{day:%A %d %B %Y} is not a working day; choose a "
                                           "working day")

    @workflow.update
    async def dispute_step(self, act: DisputeAction) -> TransferView:
        async with self.lock:
            self._check_dispute_step(act)
            assert self.dispute is not None
            ladder = self.dispute.title
            if act.kind == "acknowledge":
                self.dispute.acknowledged_by.append(act.actor.staff_id)
                await self._record("dispute_acknowledged", f"{ladder}: acknowledged by "
                                   f"{actor_words(act.actor)} (the clock runs on)",
                                   actor=act.actor, note_ref=act.note_ref)
            else:
                await self._resolve(act)
        self.wake = True
        return self._view()

    @dispute_step.validator
    def _validate_dispute_step(self, act: DisputeAction) -> None:
        self._check_dispute_step(act)

    def _check_dispute_step(self, act: DisputeAction) -> None:
        self._check_opened()
        if self.dispute is None:
            raise rejected("WrongStage", f"There is no dispute to {act.kind} (the transfer is "
                                         f"{self.stage.value})")
        ladder = self.pathway.ladders[self.dispute.ladder]
        levels = levels_of(ladder, act.actor, self.pathway)
        current = self.dispute.level
        if not levels or max(levels) < current or (act.kind == "acknowledge"
                                                   and current not in levels):
            needed = "at" if act.kind == "acknowledge" else "at or above"
            raise rejected("NotPermitted", f"Only a manager {needed} the dispute's current level "
                                           f"({self._level_words()}) may {act.kind} it; you are "
                                           f"signed in as {actor_words(act.actor)}")
        if act.kind == "resolve":
            if act.resolution is None:
                raise rejected("InvalidInput", "Give the resolution: proceed, redirect or "
                                               "decline")
            if act.resolution == "redirect" and (act.to_team not in self.inp.teams or act.to_team
                                                 in (self.pathway.sending,
                                                     self.pathway.receiving)):
                others = [t for t in self.inp.teams
                          if t not in (self.pathway.sending, self.pathway.receiving)]
                raise rejected("InvalidInput", "To redirect, give 'to_team', one of: "
                                               + ", ".join(others))
            if act.note_ref is None:
                raise rejected("InvalidInput", "Say why in 'note' when resolving a dispute")

    async def _resolve(self, act: DisputeAction) -> None:
        assert self.dispute is not None
        dispute, self.dispute = self.dispute, None
        words = f"{dispute.title}: resolved by {actor_words(act.actor)}"
        notices = [self._notice(TEAM_MANAGERS, f"dispute resolved: {act.resolution}")]
        if act.resolution == "proceed":
            gate = self.gates[dispute.gate]
            done = next(n for n, o in self.pathway.outcomes(dispute.gate).items() if o.completes)
            gate.done, gate.done_at, gate.done_by = True, workflow.now(), act.actor.staff_id
            gate.outcome = done
            self._reached(dispute.gate)
            self._settle_stage()
            clocks_first = workflow.patched(CLOCKS_FIRST)
            if clocks_first:
                await self._start_clocks(dispute.gate, workflow.now())
            await self._record("dispute_resolved", f"{words}: the transfer proceeds",
                               actor=act.actor, note_ref=act.note_ref, notices=notices)
            if not clocks_first:
                await self._start_clocks(dispute.gate, workflow.now())
            await self._advance(by_action=True)
        elif act.resolution == "redirect":
            assert act.to_team is not None
            self.stage, self.redirected_to = Stage.redirected, act.to_team
            notices[0].also = [TeamRole(role=Role.team_manager, team=act.to_team)]
            await self._record("redirected", f"{words}: redirected to {act.to_team}; "
                               f"{self.pathway.sending} keeps the case until a transfer to "
                               f"{act.to_team} completes", actor=act.actor,
                               note_ref=act.note_ref, notices=notices)
        else:
            self.stage = Stage.declined
            await self._record("declined", f"{words}: declined; {self.pathway.sending} keeps "
                               "the case", actor=act.actor, note_ref=act.note_ref,
                               notices=notices)

    @workflow.update
    async def change_deadline(self, act: DeadlineChange) -> TransferView:
        async with self.lock:
            d = self._check_deadline_change(act)
            now = workflow.now()
            if act.kind == "pause":
                d.paused_at = now
                what = f"{d.title}: clock paused"
            elif act.kind == "resume":
                assert d.paused_at is not None
                gap = now - d.paused_at
                planned = await self._plan([], instants=[PlanInstant(name=d.id,
                                                                     at=d.due_at + gap)])
                d.due_at, d.due_local = planned.dues[0].due_at, planned.dues[0].due_local
                d.warn_at = [w + gap for w in d.warn_at]
                d.paused_at = None
                what = f"{d.title}: clock resumed after {_span(gap)}; now due {d.due_local}"
            else:
                assert act.until is not None
                spec = self.pathway.deadlines[d.id]
                planned = await self._plan([], [PlanDate(name=d.id, day=act.until)])
                waiting = self._extension_waits_for(d.id, act)
                if waiting:  # both sides must agree: this manager's offer waits for the other
                    await self._record(
                        "deadline_extension_proposed",
                        f"{d.title}: extension to {planned.dues[0].due_local} proposed by "
                        f"{actor_words(act.actor)}; waiting for the {who(self.pathway, waiting)}",
                        actor=act.actor, note_ref=act.note_ref,
                        notices=[self._notice(waiting, f"extension proposed: {d.title}",
                                              f"To agree, extend it to {act.until} too.")])
                    self.wake = True
                    return self._view()
                self.extension_offers.pop(d.id, None)
                d.due_at, d.due_local = planned.dues[0].due_at, planned.dues[0].due_local
                d.status, d.extended = DeadlineStatus.pending, True
                if spec.warn and d.start_at is not None:
                    d.warn_at = warn_times(d.start_at, d.due_at, spec.warn.at)
                    d.warned = sum(1 for w in d.warn_at if w <= now)
                what = f"{d.title}: extended to {d.due_local}"
            await self._record(f"deadline_{act.kind}", f"{what} by {actor_words(act.actor)}",
                               actor=act.actor, note_ref=act.note_ref)
        self.wake = True
        return self._view()

    def _extension_waits_for(self, deadline_id: str, act: DeadlineChange) -> list[RoleRef]:
        """With `extend_needs_all`, the sides that have not yet offered this same date."""
        spec = self.pathway.deadlines[deadline_id]
        if not spec.extend_needs_all:
            return []
        offers = self.extension_offers.setdefault(deadline_id, {})
        for ref in spec.extend_by:
            if holds(act.actor, ref, self.pathway):
                offers[ref.side.value] = str(act.until)
        return [ref for ref in spec.extend_by if offers.get(ref.side.value) != str(act.until)]

    @change_deadline.validator
    def _validate_deadline_change(self, act: DeadlineChange) -> None:
        self._check_deadline_change(act)

    def _check_deadline_change(self, act: DeadlineChange) -> DeadlineView:
        self._check_opened()
        spec = self.pathway.deadlines.get(act.deadline)
        d = self.deadlines.get(act.deadline)
        if spec is None or d is None:
            running = [k for k in self.deadlines if k in self.pathway.deadlines]
            raise rejected("InvalidInput", f"'{act.deadline}' is not a running deadline of this "
                                           f"transfer; its deadlines are: {', '.join(running)}")
        if not spec.extend_by:
            raise rejected("WrongStage", f"{spec.title} cannot be extended or paused")
        check_actor(self.pathway, spec.extend_by, act.actor, f"{act.kind} '{spec.title}'")
        if act.note_ref is None:
            raise rejected("InvalidInput", f"Say why in 'note' to {act.kind} a deadline")
        if d.status in (DeadlineStatus.met, DeadlineStatus.met_late):
            raise rejected("WrongStage", f"{spec.title} is already met")
        if act.kind == "pause" and d.paused_at is not None:
            raise rejected("WrongStage", f"{spec.title} is already paused")
        if act.kind == "resume" and d.paused_at is None:
            raise rejected("WrongStage", f"{spec.title} is not paused")
        if act.kind == "extend":
            self._check_working_day(act.until, "Give the new due date in 'until'")
            assert act.until is not None
            if act.until <= d.due_at.date():
                raise rejected("InvalidInput", f"An extension must be later than the due date "
                                               f"({d.due_local})")
        return d

    @workflow.update
    async def set_transfer_date(self, act: TransferDateAction) -> TransferView:
        async with self.lock:
            self._check_transfer_date(act)
            planned = await self._plan([], [PlanDate(name=TRANSFER_DATE, day=act.transfer_date)])
            due = planned.dues[0]
            self._set_transfer_date(due.due_at, due.due_local)
            self.agreed_date_set = True
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
        self._check_opened()
        rule = self.pathway.transfer.agreed_date
        if rule is None:
            raise rejected("WrongStage", f"Pathway {self.inp.pathway_id} transfers when its "
                                         "gates are done; it has no agreed date to set")
        self._check_stage((Stage.proposed, Stage.ready), "set the transfer date")
        check_actor(self.pathway, rule.set_by, act.actor, "agree the transfer date")
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
            self.allocated_worker, self.allocated_at = act.worker_id, workflow.now()
            self.stage = Stage.allocated
            late = [d for d in self.deadlines.values()
                    if d.met_when == "allocated" and d.status is DeadlineStatus.missed]
            self._reached("allocated")
            what = f"Worker {act.worker_id} allocated by {actor_words(act.actor)}"
            if late:
                what += f" (late: {late[0].title} was due {late[0].due_local})"
            clocks_first = workflow.patched(CLOCKS_FIRST)
            if clocks_first:
                await self._start_clocks("allocated", workflow.now())
            await self._record("allocated", what, actor=act.actor, note_ref=act.note_ref,
                               notices=self._notices(self.pathway.notify.allocated,
                                                     f"worker {act.worker_id} allocated"))
            if not clocks_first:
                await self._start_clocks("allocated", workflow.now())
            await self._advance(by_action=True)
        self.wake = True
        return self._view()

    @allocate.validator
    def _validate_allocation(self, act: AllocateAction) -> None:
        self._check_allocation(act)

    def _check_allocation(self, act: AllocateAction) -> None:
        self._check_opened()
        self._check_stage((Stage.transferred,), "allocate a worker")
        check_actor(self.pathway, self.pathway.allocation.by, act.actor, "allocate a worker")
        for d in self.deadlines.values():
            spec = self.pathway.deadlines.get(d.id)
            if (spec and spec.late_reason_required and d.met_when == "allocated"
                    and d.status is DeadlineStatus.missed and act.note_ref is None):
                raise rejected("InvalidInput", f"The allocation is late ({d.title} was due "
                                               f"{d.due_local}): give the reason for the delay "
                                               "in 'note'")

    @workflow.update
    async def withdraw(self, act: WithdrawAction) -> TransferView:
        async with self.lock:
            self._check_withdrawal(act)
            self.stage, self.dispute = Stage.withdrawn, None
            await self._record("withdrawn", f"Transfer withdrawn by {actor_words(act.actor)}; "
                               f"{self.pathway.sending} keeps the case", actor=act.actor,
                               note_ref=act.note_ref,
                               notices=self._notices(self.pathway.notify.withdrawn,
                                                     "transfer withdrawn"))
        self.wake = True
        return self._view()

    @withdraw.validator
    def _validate_withdrawal(self, act: WithdrawAction) -> None:
        self._check_withdrawal(act)

    def _check_withdrawal(self, act: WithdrawAction) -> None:
        self._check_opened()
        self._check_stage(OPEN_STAGES, "withdraw the transfer")
        check_actor(self.pathway, self.pathway.withdraw_by, act.actor, "withdraw the transfer")

    @workflow.update
    async def complete_duty(self, act: DutyAction) -> TransferView:
        async with self.lock:
            duty_id, reopening = self._check_duty(act)
            d = self.deadlines[duty_id]
            spec = self.pathway.after_transfer[duty_id]
            if reopening:
                assert spec.reopen is not None
                await self._record(f"reopened:{duty_id}", f"{spec.reopen.title}: recorded by "
                                   f"{actor_words(act.actor)} during {d.title}",
                                   actor=act.actor, note_ref=act.note_ref,
                                   notices=[self._notice(spec.reopen.notify, spec.reopen.title,
                                                         f"During: {d.title}.")])
            else:
                d.status = DeadlineStatus.met if d.status is DeadlineStatus.pending \
                    else DeadlineStatus.met_late
                await self._record("duty_done:" + duty_id, f"{d.title}: recorded as done by "
                                   f"{actor_words(act.actor)}", actor=act.actor,
                                   note_ref=act.note_ref)
            await self._advance(by_action=True)
        self.wake = True
        return self._view()

    @complete_duty.validator
    def _validate_duty(self, act: DutyAction) -> None:
        self._check_duty(act)

    def _check_duty(self, act: DutyAction) -> tuple[str, bool]:
        self._check_opened()
        duties = self.pathway.after_transfer
        tasks = {self.pathway.duty_action(n): n for n, d in duties.items()
                 if d.kind is DutyKind.task}
        reopens = {d.reopen.action: n for n, d in duties.items() if d.reopen}
        duty_id = tasks.get(act.action) or reopens.get(act.action)
        if duty_id is None:
            raise rejected("InvalidInput", f"'{act.action}' is not a post-transfer step of "
                                           f"pathway {self.inp.pathway_id}")
        d = self.deadlines.get(duty_id)
        if d is None or self.stage not in AFTER_TRANSFER:
            raise rejected("WrongStage", f"'{act.action}' applies only after the transfer "
                                         f"(the transfer is {self.stage.value})")
        reopening = act.action in reopens
        spec = duties[duty_id]
        if reopening:
            assert spec.reopen is not None
            if d.status is not DeadlineStatus.pending:
                raise rejected("WrongStage", f"{d.title} has ended ({d.due_local})")
            check_actor(self.pathway, spec.reopen.by, act.actor, f"record {spec.reopen.title}")
        else:
            if d.status in (DeadlineStatus.met, DeadlineStatus.met_late):
                raise rejected("WrongStage", f"{d.title} is already recorded as done")
            check_actor(self.pathway, spec.by, act.actor, f"record {d.title}")
        return duty_id, reopening

    @workflow.update
    async def recalculate(self, req: Recalculation) -> TransferView:
        """Re-plan pending deadlines on purpose (a new bank holiday, a corrected protocol)."""
        async with self.lock:
            self._check_recalculation(req)
            if req.pathway is not None:
                self.pathway = req.pathway
            if req.calendar is not None:
                self.calendar_spec = req.calendar
            self.calendar = None  # resolve the calendar again: new bank holidays count
            changes = await self._replan()
            await self._record("recalculated", f"Deadlines recalculated ({req.reason}), asked "
                               f"by {req.requested_by}: " + ("; ".join(changes) or "no change"),
                               notices=self._notices(TEAM_MANAGERS, "deadlines recalculated",
                                                     "; ".join(changes)) if changes else [])
        self.wake = True
        return self._view()

    @recalculate.validator
    def _validate_recalculation(self, req: Recalculation) -> None:
        self._check_recalculation(req)

    def _check_recalculation(self, req: Recalculation) -> None:
        self._check_opened()
        if req.pathway is not None and (req.pathway.sending, req.pathway.receiving) != (
                self.pathway.sending, self.pathway.receiving):
            raise rejected("InvalidInput", "A corrected pathway must keep its teams")

    def _started_at(self, event: str) -> datetime | None:
        """When a clock's starting event happened, if it has."""
        if event == "anchor":
            return self.inp.anchor_at
        if event == "transferred":
            return self.transferred_at
        if event == "allocated":
            return self.allocated_at
        gate = self.gates.get(event)
        return gate.done_at if gate is not None and gate.done else None

    async def _replan(self) -> list[str]:
        items = []
        for d in self.deadlines.values():
            spec = self.pathway.deadlines.get(d.id)
            duty = self.pathway.after_transfer.get(d.id)
            within = spec.within if spec else duty.within if duty else None
            if (d.status is DeadlineStatus.pending and not d.extended and d.paused_at is None
                    and d.start_at is not None and within is not None):
                items.append(PlanItem(name=d.id, start=d.start_at, within=within))
        # A corrected pathway may add clocks: start those whose event has already happened.
        added = {}
        for name, spec in self.pathway.deadlines.items():
            start = self._started_at(spec.start)
            if name not in self.deadlines and start is not None:
                added[name] = spec
                items.append(PlanItem(name=name, start=start, within=spec.within))
        # Planning at least the present instant resolves (and freezes) the calendar anew.
        result = await self._plan(items, instants=[PlanInstant(name="now", at=workflow.now())])
        changes, moved = [], set()
        for due in result.dues:
            if due.name in added:
                spec = added[due.name]
                start = self._started_at(spec.start)
                assert start is not None
                self.deadlines[due.name] = DeadlineView(
                    id=due.name, title=spec.title, due_at=due.due_at, due_local=due.due_local,
                    met_when=spec.met_when, start_at=start,
                    warn_at=warn_times(start, due.due_at, spec.warn.at) if spec.warn else [],
                    warned=len(spec.warn.at) if spec.warn and due.due_at <= workflow.now()
                    else 0)
                changes.append(f"{spec.title}: new, due {due.due_local}")
                continue
            if due.name not in self.deadlines:
                continue
            d = self.deadlines[due.name]
            if due.due_at != d.due_at:
                changes.append(f"{d.title}: {d.due_local} → {due.due_local}")
                moved.add(d.id)
            d.due_at, d.due_local = due.due_at, due.due_local
            spec = self.pathway.deadlines.get(d.id)
            if spec is not None and spec.warn and d.start_at is not None:
                d.warn_at = warn_times(d.start_at, d.due_at, spec.warn.at)
        rule = self.pathway.transfer.agreed_date
        if rule is not None and (rule.default in moved or rule.default in added):
            await self._default_transfer_date()
        return changes

    @workflow.query
    def view(self) -> TransferView:
        return self._view()

    # ----- helpers ---------------------------------------------------------------------

    def _check_opened(self) -> None:
        if not self.opened:
            raise rejected("WrongStage", "The transfer is still being opened; try again shortly")

    def _check_stage(self, allowed: tuple[Stage, ...], doing: str) -> None:
        if self.stage not in allowed:
            raise rejected("WrongStage", f"Cannot {doing} now: the transfer is {self.stage.value}"
                                         f" (allowed when {' or '.join(allowed)})")

    def _waiting_for(self) -> list[str]:
        if self.dispute is not None:
            d = self.dispute
            return [f"resolution of the dispute by the {self._level_words()}"
                    + (f", by {d.level_due_local}" if d.level_due_local else " (time is up)")]
        if self.stage in (Stage.proposed, Stage.ready):
            items = [
                f"{g.title} ({who(self.pathway, self.pathway.gates[gid].by)})"
                for gid, g in self.gates.items()
                if not g.done and all(self.gates[a].done for a in self.pathway.gates[gid].after)
            ]
            date = self.deadlines.get(TRANSFER_DATE)
            if date is not None:
                items.append(f"the agreed transfer date, {date.due_local}")
            return items
        if self.stage not in AFTER_TRANSFER:
            return []
        # After the transfer: the allocation, then whatever still runs (a deadline such as
        # tasks outstanding by an agreed date, post-transfer duties and periods).
        items = [f"allocation of a worker ({who(self.pathway, self.pathway.allocation.by)})"
                 ] if self.stage is Stage.transferred else []
        return items + [f"{d.title}, due {d.due_local}" for d in self.deadlines.values()
                        if d.kind != TRANSFER_DATE and d.status is DeadlineStatus.pending]

    def _view(self) -> TransferView:
        info = workflow.info()
        responsible = (self.pathway.receiving
                       if self.transferred_at is not None else self.pathway.sending)
        date = self.deadlines.get(TRANSFER_DATE)
        return TransferView(
            transfer_id=info.workflow_id, run_id=info.run_id, case_id=self.inp.case_id,
            children=self.inp.children, authority=self.inp.authority,
            pathway=self.inp.pathway_id, protocol_version=self.inp.protocol_version,
            stage=self.stage, from_team=self.pathway.sending, to_team=self.pathway.receiving,
            responsible_team=responsible, anchor=self.pathway.anchor.name,
            anchor_at=self.inp.anchor_at, transfer_date=date.due_at if date else None,
            transferred_at=self.transferred_at, allocated_worker=self.allocated_worker,
            escalation_level=self.dispute.level + 1 if self.dispute else 0,
            dispute=self.dispute.model_copy() if self.dispute else None,
            redirected_to=self.redirected_to,
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
        summary = f"Record: {kind}"[:190]
        if self._lean():
            # Local: no task queue round trip and one marker in the history instead of an
            # activity's three events and a workflow task; a retry after a crash writes
            # nothing twice (the store is idempotent on run and seq).
            await workflow.execute_local_activity(
                "record_change", change, start_to_close_timeout=timedelta(seconds=15),
                retry_policy=STORE_RETRY, local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                summary=summary)
        else:
            await workflow.execute_activity(
                "record_change", change, start_to_close_timeout=timedelta(seconds=15),
                retry_policy=STORE_RETRY, summary=summary)
        self._publish(change.view)
        if change.notices:
            self.deliveries.append(workflow.start_activity(
                "deliver_notifications", DeliveryRequest(run_id=info.run_id, seq=self.seq),
                start_to_close_timeout=timedelta(minutes=2), retry_policy=MAIL_RETRY,
                heartbeat_timeout=timedelta(seconds=15), summary=f"Email: {kind}"[:190],
            ))

    def _lean(self) -> bool:
        return workflow.patched(LEAN_HISTORY)

    def _publish(self, view: TransferView) -> None:
        upcoming = view.next_deadline
        values = [view.stage.value, view.responsible_team, view.overdue,
                  view.escalation_level, upcoming.due_at if upcoming else None]
        if values != self.published or not self._lean():
            workflow.upsert_search_attributes([
                sa.STAGE.value_set(view.stage.value),
                sa.RESPONSIBLE_TEAM.value_set(view.responsible_team),
                sa.OVERDUE.value_set(view.overdue),
                sa.ESCALATION_LEVEL.value_set(view.escalation_level),
                sa.NEXT_DEADLINE.value_set(upcoming.due_at) if upcoming
                else sa.NEXT_DEADLINE.value_unset(),
            ])
            self.published = values
        workflow.set_current_details(current_details(view))


def _span(gap: timedelta) -> str:
    hours = round(gap.total_seconds() / 3600)
    return f"{hours} hours" if hours < 48 else f"{round(hours / 24)} days"
