"""Gates: a manager's answer at a step of the pathway, and what it sets going.

An answer completes the gate (and starts the clocks that run from it), or sets
a date to follow up, or sends gates back to be done again, or starts a dispute.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.days import subtract_working_days
    from models.protocol import DurationUnit, Outcome
    from models.transfer import (
        Agreement,
        DeadlineStatus,
        DeadlineView,
        GateAction,
        GateView,
        PlanDate,
    )
    from workflows.disputes import CLOCKS_FIRST
    from workflows.rules import joint_parties
    from workflows.state import start_of_day
    from workflows.transferring import Transferring
    from workflows.wording import actor_words


class Gates(Transferring):
    async def _answer_gate(self, gate_id: str, outcome_name: str, act: GateAction) -> None:
        s = self.s
        outcome = s.pathway.outcomes(gate_id)[outcome_name]
        spec, gate = s.pathway.gates[gate_id], s.gates[gate_id]
        if spec.joint and outcome.completes and not await self._agree(gate_id, outcome_name,
                                                                      act):
            return  # a joint decision still waits for another party
        gate.outcome = outcome_name
        s.reached(f"{gate_id}:answered")  # e.g. considered at the meeting, whatever
        said = "recorded" if outcome_name == "done" else outcome_name.replace("_", " ")
        what = f"{spec.title}: {said} by {actor_words(act.actor)}"
        if outcome.completes:
            gate.done, gate.done_at, gate.done_by = True, workflow.now(), act.actor.staff_id
            gate.items, gate.attendees = act.items, act.attendees
            s.reached(gate_id)
            if act.attendees:
                what += f"; attended by {', '.join(act.attendees)}"
            what += self._details(gate_id, outcome, act)
            if s.dispute is not None and s.dispute.gate == gate_id:
                s.dispute = None  # the disputing manager accepted after all
        for other in outcome.reopens:
            s.gates[other] = GateView(id=other, title=s.gates[other].title,
                                      action=s.gates[other].action)
            what += f"; to be done again: {s.gates[other].title}"
        if outcome.needs_date and act.on_date is not None:
            what += await self._follow_up(gate_id, outcome_name, outcome, act)
        # Clocks the step starts go into the recorded row (work trays, NextDeadlineAt);
        # transfers that began before this change still plan them afterwards.
        clocks_first = workflow.patched(CLOCKS_FIRST)
        # Clocks from an event recorded with its date count from the start of that day.
        started = start_of_day(act.on_date) if outcome.event_date and act.on_date \
            else workflow.now()
        if clocks_first and outcome.completes:
            await self._start_clocks(gate_id, started)
        if outcome.dispute:
            await self._start_dispute(gate_id, outcome.dispute, act)
        else:
            s.settle_stage()
            kind = f"gate:{gate_id}" + ("" if outcome_name == "done" else f":{outcome_name}")
            await self._record(kind, what, actor=act.actor, note_ref=act.note_ref,
                               notices=self._notices([*spec.notify, *outcome.notify],
                                                     f"{spec.title}: {outcome_name}"
                                                     if outcome_name != "done"
                                                     else spec.title))
        if outcome.completes and not clocks_first:
            await self._start_clocks(gate_id, started)
        await self._advance(by_action=True)  # the answer shows what the action caused

    def _details(self, gate_id: str, outcome: Outcome, act: GateAction) -> str:
        """What else the answer records: items not applicable, the event's date, a party."""
        s, gate, what = self.s, self.s.gates[gate_id], ""
        if act.not_applicable:
            gate.not_applicable = act.not_applicable
            what += f"; not applicable: {', '.join(act.not_applicable)} (why: in the note)"
        if outcome.event_date and act.on_date is not None:
            gate.event_date = act.on_date
            what += f"; it happened on {act.on_date:%a %-d %b %Y}"
        if outcome.names_party and act.team is not None:
            s.parties[outcome.names_party] = act.team
            what += f"; {s.pathway.parties[outcome.names_party].title}: {act.team}"
        return what

    async def _agree(self, gate_id: str, outcome_name: str, act: GateAction) -> bool:
        """Record one party's agreement to a joint decision; True once every party agreed."""
        s = self.s
        spec, gate = s.pathway.gates[gate_id], s.gates[gate_id]
        agreed = {a.party for a in gate.agreed}
        party = next(p for p in joint_parties(spec.by, act.actor, s.pathway, s.parties)
                     if p not in agreed)
        gate.agreed.append(Agreement(party=party, staff_id=act.actor.staff_id,
                                     at=workflow.now(), outcome=outcome_name))
        waiting = s.awaiting(gate_id)
        if not waiting:
            return True
        await self._record(f"agreed:{gate_id}", f"{spec.title}: agreed by "
                           f"{actor_words(act.actor)}; waiting for the {s.who(waiting)}",
                           actor=act.actor, note_ref=act.note_ref,
                           notices=[self._notice(waiting, f"your agreement is needed: "
                                                 f"{spec.title}",
                                                 f"Agreed so far by {act.actor.staff_id}.")])
        return False

    async def _follow_up(self, gate_id: str, name: str, outcome: Outcome, act: GateAction
                         ) -> str:
        s = self.s
        assert act.on_date is not None
        day = act.on_date
        before = outcome.follow_up_before
        if before is not None:  # e.g. managers meet at least 5 days before the hearing
            day = (subtract_working_days(day, before.amount, s.closed_days())
                   if before.unit is DurationUnit.working_days
                   else day - timedelta(days=before.amount))
        planned = await self._plan([], [PlanDate(name="date", day=act.on_date),
                                         PlanDate(name="follow_up", day=day)])
        given, due = planned.dues
        if outcome.follow_up:
            key = f"{gate_id}:{name}"
            met_by = outcome.follow_up_met_by or gate_id
            s.deadlines[key] = DeadlineView(
                id=key, title=outcome.follow_up, due_at=due.due_at, due_local=due.due_local,
                met_when=met_by, start_at=workflow.now(),
                status=DeadlineStatus.met if s.milestone_done(met_by)
                else DeadlineStatus.pending)
            s.follow_up_notify[key] = [*s.pathway.gates[gate_id].by, *outcome.notify]
        return f"; date set for {given.due_local}"
