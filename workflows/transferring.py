"""The transfer itself, and what follows it: post-transfer duties, periods, closing.

Responsibility moves from the sending to the receiving team at one instant;
then the duties the pathway names run on their own clocks until each is done,
missed or ended, and the transfer closes once a worker is allocated and
nothing is left running.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.protocol import DutyKind
    from models.transfer import (
        DeadlineStatus,
        DeadlineView,
        DutyAction,
        PlanItem,
        Stage,
        TaskView,
    )
    from workflows.disputes import Disputes
    from workflows.state import TRANSFER_DATE
    from workflows.wording import actor_words


REMIND = "remind:"  # the planned reminder of an untimed task


class Transferring(Disputes):
    async def _advance(self, by_action: bool = False) -> None:
        """Take the automatic steps now due; `by_action` when a manager's action caused them."""
        s = self.s
        if s.stage in (Stage.proposed, Stage.ready) and s.transfer_due(workflow.now()):
            await self._transfer(by_action)
        await self._take_late_breach_actions()  # only on deadlines the transfer did not meet
        if s.stage is Stage.allocated and s.all_clocks_ended():
            s.stage = Stage.closed
            await self._record("closed", "Transfer complete: allocated, and every deadline and "
                                         "post-transfer duty met, missed, ended or done")
        elif (s.stage is Stage.transferred and s.pathway.allocation is None
              and s.all_clocks_ended()):
            # Closed, or gone to another organisation: nobody here allocates a worker.
            s.stage = Stage.closed
            done = ("Case closed" if s.pathway.closes else "Complete" if s.pathway.stays
                    else "Transfer out complete")
            await self._record("closed", f"{done}: every deadline and duty after it met, "
                                         "missed, ended or done")

    async def _transfer(self, by_action: bool, forced_by: str | None = None) -> None:
        s, now = self.s, workflow.now()
        s.stage = Stage.transferred
        s.transferred_at = now
        s.reached("transferred")
        duties = s.pathway.after_transfer
        starts = {n: s.inp.anchor_at if d.start == "anchor" else now for n, d in duties.items()}
        items = [PlanItem(name=n, start=starts[n], within=d.within)
                 for n, d in duties.items() if d.within is not None]
        # A task with no timescale is outstanding until done; it may have one reminder.
        items += [PlanItem(name=f"{REMIND}{n}", start=starts[n], within=d.remind_after)
                  for n, d in duties.items() if d.remind_after is not None]
        s.tasks.update({n: TaskView(id=n, title=d.title, action=s.pathway.duty_action(n))
                        for n, d in duties.items() if d.within is None})
        if items:
            planned = await self._plan(items)
            for due in planned.dues:
                if due.name.startswith(REMIND):
                    s.tasks[due.name.removeprefix(REMIND)].remind_at = due.due_at
                    continue
                kind = "period" if duties[due.name].kind is DutyKind.period else "duty"
                s.deadlines[due.name] = DeadlineView(
                    id=due.name, title=duties[due.name].title, kind=kind,
                    start_at=starts[due.name], due_at=due.due_at, due_local=due.due_local)
        await self._start_clocks("transferred", now)
        skipped = [g.title for g in s.gates.values() if not s.clear(g.id)]
        date_ = s.deadlines.get(TRANSFER_DATE)
        if forced_by:
            how = f"automatically, as the deadline passed ({forced_by})"
        elif date_ is None:
            how = "as every required step is done"
        elif not by_action:
            how = f"on the agreed date ({date_.due_local})"
        else:
            # A manager's action let it go: the last requirement met, or a dispute resolved.
            how = (f"after the agreed date ({date_.due_local}), once the last thing holding "
                   "it back was done")
        if s.pathway.closes:
            kind, headline = "case_closed", "case closed"
            summary = f"Case closed by {s.pathway.sending} {how}"
        elif s.pathway.stays:
            kind, headline = "completed", f"complete: {s.pathway.title}"
            summary = f"Complete {how}; the case stays with {s.pathway.sending}"
        else:
            kind, headline = "transferred", f"case transferred to {self._receiver()}"
            summary = f"Case transferred to {self._receiver()} {how}"
        if skipped:
            point = ("closure" if s.pathway.closes else "end" if s.pathway.stays
                     else "transfer")
            summary += f"; not recorded before the {point}: " + "; ".join(skipped)
        await self._record(kind, summary,
                           notices=self._notices(s.pathway.notify.transferred, headline,
                                                 summary))

    def _receiver(self) -> str:
        """The receiving team, or the organisation outside the council (by its identifier)."""
        to = self.s.pathway.receiving
        chosen = self.s.inp.externals.get(to)
        return f"{to} ({chosen})" if chosen else to

    # ----- post-transfer duties ----------------------------------------------------------

    async def _duty_overdue(self, d: DeadlineView) -> None:
        d.status = DeadlineStatus.missed
        spec = self.s.pathway.after_transfer[d.id]
        await self._record("duty_overdue", f"Post-transfer duty overdue: {d.title}",
                           notices=[self._notice(spec.remind, f"reminder: {d.title}",
                                                 f"It was due {d.due_local}.")])

    async def _period_ended(self, d: DeadlineView) -> None:
        d.status = DeadlineStatus.met
        spec = self.s.pathway.after_transfer[d.id]
        await self._record("period_ended", f"{d.title}: ended",
                           notices=self._notices(spec.on_end, f"ended: {d.title}"))

    async def _remind_task(self, task: TaskView) -> None:
        task.reminded = True
        spec = self.s.pathway.after_transfer[task.id]
        await self._record("task_reminder", f"Reminder: {task.title} is still outstanding",
                           notices=self._notices(spec.remind, f"reminder: {task.title}",
                                                 "It is still outstanding."))

    async def _complete_duty(self, duty_id: str, reopening: bool, act: DutyAction) -> None:
        task = self.s.tasks.get(duty_id)
        if task is not None:
            task.done, task.done_at, task.done_by = True, workflow.now(), act.actor.staff_id
            await self._record("duty_done:" + duty_id, f"{task.title}: recorded as done by "
                               f"{actor_words(act.actor)}", actor=act.actor,
                               note_ref=act.note_ref)
            await self._advance(by_action=True)
            return
        d = self.s.deadlines[duty_id]
        spec = self.s.pathway.after_transfer[duty_id]
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
