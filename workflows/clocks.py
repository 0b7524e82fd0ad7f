"""Clocks: starting deadlines, warning before them, acting on a breach, moving them on purpose.

A deadline's due time is always planned by the planner activity (bank holidays,
time zones) and kept in the state; this part decides when to plan, what a
warning or a breach does, and how an extension, a pause or a recalculation
moves a clock.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.days import last_working_day_on_or_before, london_date
    from models.protocol import RoleRef
    from models.transfer import (
        DeadlineChange,
        DeadlineStatus,
        DeadlineView,
        PlanDate,
        PlanInstant,
        PlanItem,
        Stage,
    )
    from workflows.effects import Effects
    from workflows.rules import holds, warn_times, who
    from workflows.state import KEY_DATE, TRANSFER_DATE, start_of_day
    from workflows.wording import actor_words


# workflow.patched: a breach action held back by `only_if` is taken when its gates are done
# later, while the deadline is still missed (before, only at the instant of the breach).
LATE_BREACH_ACTIONS = "late-breach-actions"


class Clocks(Effects):
    async def _start_clocks(self, event: str, at: datetime) -> None:
        """Plan every deadline that starts with `event` (the anchor, a gate, the transfer ...)."""
        s = self.s
        # A conditional clock runs only if the answer it depends on was given.
        specs = {n: d for n, d in s.pathway.deadlines.items()
                 if d.start == event and s.applies(d.applies_if)}
        dates, instants = [], []
        if event == "anchor":
            # Always plan at the anchor, so the calendar is frozen from the start even for a
            # pathway with no clock yet: validators check working days and notice against it.
            instants.append(PlanInstant(name="anchor", at=at))
            if s.inp.agreed_transfer_date is not None:
                dates.append(PlanDate(name=TRANSFER_DATE, day=s.inp.agreed_transfer_date))
        if not specs and not dates and not instants:
            return
        result = await self._plan(
            [PlanItem(name=n, start=at, within=d.within) for n, d in specs.items()], dates,
            instants)
        dues = {due.name: due for due in result.dues}
        for name, spec in specs.items():
            due = dues[name]
            s.deadlines[name] = DeadlineView(
                id=name, title=spec.title, due_at=due.due_at, due_local=due.due_local,
                met_when=spec.met_when, start_at=at,
                warn_at=warn_times(at, due.due_at, spec.warn.at) if spec.warn else [],
                status=DeadlineStatus.met if s.milestone_done(spec.met_when)
                else DeadlineStatus.pending)
        rule = s.pathway.transfer.agreed_date
        # The agreed date: given at the start, or set later, or else the default deadline's
        # due time once that deadline starts (at the anchor, or e.g. at the transfer meeting).
        if TRANSFER_DATE in dues:
            self._set_transfer_date(dues[TRANSFER_DATE].due_at, dues[TRANSFER_DATE].due_local)
        elif rule is not None and rule.default in dues:
            await self._default_transfer_date()

    async def _default_transfer_date(self) -> None:
        """Unless a date was agreed, the case moves on its default deadline's day (or the last
        working day before it: a default never moves a case on a closed day)."""
        s = self.s
        rule = s.pathway.transfer.agreed_date
        source = s.deadlines.get(rule.default) if rule else None
        if source is None or (s.agreed_date_set and TRANSFER_DATE in s.deadlines):
            return
        due_at, due_local = source.due_at, source.due_local
        day = london_date(due_at)
        working = last_working_day_on_or_before(day, s.closed_days())
        if working != day:
            moved = await self._plan([], [PlanDate(name=TRANSFER_DATE, day=working)])
            due_at, due_local = moved.dues[0].due_at, moved.dues[0].due_local
        self._set_transfer_date(due_at, due_local)

    def _set_transfer_date(self, due_at: datetime, due_local: str) -> None:
        date_ = self.s.deadlines.get(TRANSFER_DATE)
        if date_ is None:
            self.s.deadlines[TRANSFER_DATE] = DeadlineView(
                id=TRANSFER_DATE, title="Agreed transfer date", kind=TRANSFER_DATE,
                met_when="transferred", due_at=due_at, due_local=due_local)
        else:
            date_.due_at, date_.due_local = due_at, due_local

    async def _warn(self, d: DeadlineView) -> None:
        spec = self.s.pathway.deadlines.get(d.id)
        if spec is None or spec.warn is None:  # a corrected protocol dropped the warning
            d.warned = len(d.warn_at)
            return
        share = round(sorted(spec.warn.at)[d.warned] * 100)
        d.warned += 1
        await self._record("deadline_warning", f"{share}% of the time for {d.title} has passed",
                           notices=[self._notice(spec.warn.notify, f"{share}% of the time gone: "
                                                 f"{d.title}", f"It is due {d.due_local}.")])

    async def _breach(self, d: DeadlineView) -> None:
        s = self.s
        d.status = DeadlineStatus.missed
        spec = s.pathway.deadlines.get(d.id)
        notices, force = [], False
        if d.id in s.follow_up_notify:  # a date set by an outcome (e.g. re-presentation)
            notices.append(self._notice(s.follow_up_notify[d.id], f"date missed: {d.title}"))
        taken = s.breach_taken.setdefault(d.id, set())
        for i, action in enumerate(spec.on_breach if spec else []):
            if not all(s.gates[g].done for g in action.only_if):
                continue
            taken.add(i)
            if action.notify:
                notices.append(self._notice(action.notify, f"deadline missed: {d.title}",
                                            f"It was due {d.due_local}."))
            force = force or action.transfer
        await self._record("deadline_missed", f"Deadline missed: {d.title} (due {d.due_local})",
                           notices=notices)
        if force and s.stage in (Stage.proposed, Stage.ready):
            await self._transfer(by_action=False, forced_by=d.title)

    def _late_breach_actions(self) -> list[tuple[DeadlineView, int]]:
        """Breach actions held back by `only_if` whose gates are now all done, on deadlines
        still missed (e.g. the Service Manager is told once the requirements are met)."""
        s, due = self.s, []
        for d in s.deadlines.values():
            spec = s.pathway.deadlines.get(d.id)
            if d.status is not DeadlineStatus.missed or spec is None:
                continue
            taken = s.breach_taken.get(d.id, set())
            due += [(d, i) for i, action in enumerate(spec.on_breach) if i not in taken
                    and action.only_if and all(s.gates[g].done for g in action.only_if)]
        return due

    async def _take_late_breach_actions(self) -> None:
        s = self.s
        late = self._late_breach_actions()
        # Checked only when there is one to take, so transfers recorded before this change
        # replay without a marker where they had nothing to do.
        if not late or not workflow.patched(LATE_BREACH_ACTIONS):
            return
        for d, i in late:
            action = s.pathway.deadlines[d.id].on_breach[i]
            s.breach_taken.setdefault(d.id, set()).add(i)
            done = [s.pathway.gates[g].title for g in action.only_if]
            notices = self._notices(action.notify, f"deadline missed: {d.title}",
                                    f"It was due {d.due_local}; now done: {'; '.join(done)}.")
            await self._record("deadline_missed_requirements_met",
                               f"{d.title}: still missed, now that {'; '.join(done)} "
                               "are done", notices=notices)
            if action.transfer and s.stage in (Stage.proposed, Stage.ready):
                await self._transfer(by_action=False, forced_by=d.title)

    # ----- key dates -------------------------------------------------------------------

    async def _set_key_date(self, name: str, day: date) -> None:
        """Plan the reminder on a key date's day and start (or move) the clocks it starts."""
        s = self.s
        spec = s.pathway.key_dates[name]
        s.key_dates[name] = day
        starts = start_of_day(day)
        clocks = {n: d for n, d in s.pathway.deadlines.items()
                  if d.start == name and s.applies(d.applies_if)}
        planned = await self._plan(
            [PlanItem(name=n, start=starts, within=d.within) for n, d in clocks.items()],
            instants=[PlanInstant(name=name, at=starts)])
        for due in planned.dues:
            if due.name == name:
                s.deadlines[f"{KEY_DATE}:{name}"] = DeadlineView(
                    id=f"{KEY_DATE}:{name}", title=spec.title, kind=KEY_DATE,
                    due_at=due.due_at, due_local=due.due_local, start_at=starts,
                    status=DeadlineStatus.pending if due.due_at > workflow.now()
                    else DeadlineStatus.met)
                continue
            old = s.deadlines.get(due.name)
            if old is not None and old.status in (DeadlineStatus.met, DeadlineStatus.met_late):
                continue  # already met: a corrected date does not reopen it
            clock = clocks[due.name]
            s.deadlines[due.name] = DeadlineView(
                id=due.name, title=clock.title, due_at=due.due_at, due_local=due.due_local,
                met_when=clock.met_when, start_at=starts,
                warn_at=warn_times(starts, due.due_at, clock.warn.at) if clock.warn else [],
                status=DeadlineStatus.met if s.milestone_done(clock.met_when)
                else DeadlineStatus.pending)
        rule = s.pathway.transfer.agreed_date
        if rule is not None and rule.default in clocks:  # the default date runs from it
            await self._default_transfer_date()

    async def _key_date_reached(self, d: DeadlineView) -> None:
        d.status = DeadlineStatus.met
        name = d.id.removeprefix(f"{KEY_DATE}:")
        spec = self.s.pathway.key_dates[name]
        await self._record(f"key_date:{name}", f"Key date: {d.title} ({d.due_local})",
                           notices=self._notices(spec.notify, f"today: {d.title}"))

    # ----- moving a clock on purpose ------------------------------------------------------

    async def _change_deadline(self, d: DeadlineView, act: DeadlineChange) -> str | None:
        """Pause, resume or extend `d`; None when an extension waits for the other side."""
        s, now = self.s, workflow.now()
        if act.kind == "pause":
            d.paused_at = now
            return f"{d.title}: clock paused"
        if act.kind == "resume":
            assert d.paused_at is not None
            gap = now - d.paused_at
            planned = await self._plan([], instants=[PlanInstant(name=d.id,
                                                                 at=d.due_at + gap)])
            d.due_at, d.due_local = planned.dues[0].due_at, planned.dues[0].due_local
            d.warn_at = [w + gap for w in d.warn_at]
            d.paused_at = None
            return f"{d.title}: clock resumed after {_span(gap)}; now due {d.due_local}"
        assert act.until is not None
        spec = s.pathway.deadlines.get(d.id)
        planned = await self._plan([], [PlanDate(name=d.id, day=act.until)])
        waiting = self._extension_waits_for(d.id, act)
        if waiting:  # both sides must agree: this manager's offer waits for the other
            await self._record(
                "deadline_extension_proposed",
                f"{d.title}: extension to {planned.dues[0].due_local} proposed by "
                f"{actor_words(act.actor)}; waiting for the {who(s.pathway, waiting)}",
                actor=act.actor, note_ref=act.note_ref,
                notices=[self._notice(waiting, f"extension proposed: {d.title}",
                                      f"To agree, extend it to {act.until} too.")])
            return None
        s.extension_offers.pop(d.id, None)
        d.due_at, d.due_local = planned.dues[0].due_at, planned.dues[0].due_local
        d.status, d.extended = DeadlineStatus.pending, True
        if spec is not None and spec.warn and d.start_at is not None:
            d.warn_at = warn_times(d.start_at, d.due_at, spec.warn.at)
            d.warned = sum(1 for w in d.warn_at if w <= now)
        return f"{d.title}: extended to {d.due_local}"

    def _extension_waits_for(self, deadline_id: str, act: DeadlineChange) -> list[RoleRef]:
        """With `extend_needs_all`, the sides that have not yet offered this same date."""
        s = self.s
        spec = s.pathway.deadlines.get(deadline_id)
        if spec is None or not spec.extend_needs_all:
            return []
        offers = s.extension_offers.setdefault(deadline_id, {})
        for ref in spec.extend_by:
            if holds(act.actor, ref, s.pathway):
                offers[ref.side.value] = str(act.until)
        return [ref for ref in spec.extend_by if offers.get(ref.side.value) != str(act.until)]

    async def _replan(self) -> list[str]:
        s = self.s
        items = []
        for d in s.deadlines.values():
            spec = s.pathway.deadlines.get(d.id)
            duty = s.pathway.after_transfer.get(d.id)
            within = spec.within if spec else duty.within if duty else None
            if (d.status is DeadlineStatus.pending and not d.extended and d.paused_at is None
                    and d.start_at is not None and within is not None):
                items.append(PlanItem(name=d.id, start=d.start_at, within=within))
        # A corrected pathway may add clocks: start those whose event has already happened.
        added = {}
        for name, spec in s.pathway.deadlines.items():
            start = s.started_at(spec.start)
            if name not in s.deadlines and start is not None and s.applies(spec.applies_if):
                added[name] = spec
                items.append(PlanItem(name=name, start=start, within=spec.within))
        # Planning at least the present instant resolves (and freezes) the calendar anew.
        result = await self._plan(items, instants=[PlanInstant(name="now", at=workflow.now())])
        changes, moved = [], set()
        for due in result.dues:
            if due.name in added:
                spec = added[due.name]
                start = s.started_at(spec.start)
                assert start is not None
                s.deadlines[due.name] = DeadlineView(
                    id=due.name, title=spec.title, due_at=due.due_at, due_local=due.due_local,
                    met_when=spec.met_when, start_at=start,
                    warn_at=warn_times(start, due.due_at, spec.warn.at) if spec.warn else [],
                    warned=len(spec.warn.at) if spec.warn and due.due_at <= workflow.now()
                    else 0)
                changes.append(f"{spec.title}: new, due {due.due_local}")
                continue
            if due.name not in s.deadlines:
                continue
            d = s.deadlines[due.name]
            if due.due_at != d.due_at:
                changes.append(f"{d.title}: {d.due_local} → {due.due_local}")
                moved.add(d.id)
            d.due_at, d.due_local = due.due_at, due.due_local
            spec = s.pathway.deadlines.get(d.id)
            if spec is not None and spec.warn and d.start_at is not None:
                d.warn_at = warn_times(d.start_at, d.due_at, spec.warn.at)
        rule = s.pathway.transfer.agreed_date
        if rule is not None and (rule.default in moved or rule.default in added):
            await self._default_transfer_date()
        return changes


def _span(gap: timedelta) -> str:
    hours = round(gap.total_seconds() / 3600)
    return f"{hours} hours" if hours < 48 else f"{round(hours / 24)} days"
