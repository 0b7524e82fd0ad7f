"""Disputes: the escalation ladder climbing by itself, and a dispute's resolution.

Until a dispute is resolved the sending team keeps the case. Each level has
its time; when it runs out the next level is told (or, at the last level, that
the time allowed has been breached). Only a manager at the current level or
above resolves it: proceed, redirect to another team, or decline.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.protocol import Role
    from models.transfer import (
        DisputeAction,
        DisputeView,
        GateAction,
        PlanItem,
        Stage,
        TeamRole,
    )
    from workflows.clocks import Clocks
    from workflows.rules import level_refs
    from workflows.state import TEAM_MANAGERS
    from workflows.wording import actor_words

LADDER_STEP = "ladder_step"
CLOCKS_FIRST = "clocks-before-record"  # workflow.patched: see Gates._answer_gate


class Disputes(Clocks):
    async def _start_dispute(self, gate_id: str | None, ladder_name: str,
                             act: GateAction | DisputeAction) -> None:
        """A dispute at a gate (its answer), or raised by a side at large (`gate_id` None)."""
        s = self.s
        ladder = s.pathway.ladders[ladder_name]
        s.stage = Stage.disputed
        s.dispute = DisputeView(ladder=ladder_name, title=ladder.title, gate=gate_id,
                                level_role=ladder.levels[0].role.value,
                                started_at=workflow.now())
        await self._plan_level(s.dispute.started_at)
        what = s.pathway.gates[gate_id].title if gate_id is not None else "The transfer"
        await self._record(
            "disputed", f"{what}: disputed by "
                        f"{actor_words(act.actor)}; referred to {s.level_words()}",
            actor=act.actor, note_ref=act.note_ref,
            notices=[self._notice(level_refs(ladder, 0), f"dispute referred to you: "
                                  f"{ladder.title}", s.resolve_by())])

    async def _plan_level(self, start: datetime) -> None:
        """Plan the current level's due time; a level's time runs from the previous one's end."""
        s = self.s
        assert s.dispute is not None
        spec = s.pathway.ladders[s.dispute.ladder].levels[s.dispute.level]
        if spec.allow is None:
            s.dispute.level_due_at, s.dispute.level_due_local = None, ""
            return
        planned = await self._plan([PlanItem(name=LADDER_STEP, start=start, within=spec.allow)])
        s.dispute.level_due_at = planned.dues[0].due_at
        s.dispute.level_due_local = planned.dues[0].due_local

    async def _climb_ladder(self) -> None:
        s = self.s
        assert s.dispute is not None
        ladder = s.pathway.ladders[s.dispute.ladder]
        ended = s.dispute.level_due_at
        assert ended is not None
        if s.dispute.level == len(ladder.levels) - 1:  # the last level's own time ran out
            s.dispute.level_due_at, s.dispute.level_due_local = None, ""
            allowed = s.time_allowed(ladder_name=s.dispute.ladder)
            await self._record("escalation_limit_breached",
                               f"{ladder.title}: not resolved within {allowed}; "
                               f"{s.level_words()} told",
                               notices=[self._notice(level_refs(ladder, s.dispute.level),
                                                     f"dispute not resolved within "
                                                     f"{allowed}: {ladder.title}")])
            return
        s.dispute.level += 1
        s.dispute.level_role = ladder.levels[s.dispute.level].role.value
        s.dispute.acknowledged_by = []
        await self._plan_level(ended)
        refs = level_refs(ladder, s.dispute.level)
        if s.dispute.level_due_at is None:
            allowed = s.time_allowed(ladder_name=s.dispute.ladder)
            await self._record("escalation_limit_breached",
                               f"{ladder.title}: not resolved within {allowed}; "
                               f"{s.level_words()} told",
                               notices=[self._notice(refs, f"dispute not resolved within "
                                                     f"{allowed}: {ladder.title}")])
        else:
            await self._record("escalated", f"{ladder.title}: not resolved in time; escalated "
                                            f"to {s.level_words()}",
                               notices=[self._notice(refs, f"dispute escalated to you: "
                                                     f"{ladder.title}", s.resolve_by())])

    async def _acknowledge(self, act: DisputeAction) -> None:
        s = self.s
        assert s.dispute is not None
        s.dispute.acknowledged_by.append(act.actor.staff_id)
        await self._record("dispute_acknowledged", f"{s.dispute.title}: acknowledged by "
                           f"{actor_words(act.actor)} (the clock runs on)",
                           actor=act.actor, note_ref=act.note_ref)

    async def _resolve(self, act: DisputeAction) -> None:
        s = self.s
        assert s.dispute is not None
        dispute, s.dispute = s.dispute, None
        words = f"{dispute.title}: resolved by {actor_words(act.actor)}"
        notices = [self._notice(TEAM_MANAGERS, f"dispute resolved: {act.resolution}")]
        if act.resolution == "proceed" and dispute.gate is None:
            s.settle_stage()  # a dispute raised at large: the pathway goes on where it was
            await self._record("dispute_resolved", f"{words}: the transfer proceeds",
                               actor=act.actor, note_ref=act.note_ref, notices=notices)
            await self._advance(by_action=True)
        elif act.resolution == "proceed":
            assert dispute.gate is not None
            gate = s.gates[dispute.gate]
            done = next(n for n, o in s.pathway.outcomes(dispute.gate).items() if o.completes)
            gate.done, gate.done_at, gate.done_by = True, workflow.now(), act.actor.staff_id
            gate.outcome = done
            s.reached(dispute.gate)
            s.settle_stage()
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
            s.stage, s.redirected_to = Stage.redirected, act.to_team
            notices[0].also = [TeamRole(role=Role.team_manager, team=act.to_team)]
            await self._record("redirected", f"{words}: redirected to {act.to_team}; "
                               f"{s.pathway.sending} keeps the case until a transfer to "
                               f"{act.to_team} completes", actor=act.actor,
                               note_ref=act.note_ref, notices=notices)
        else:
            s.stage = Stage.declined
            await self._record("declined", f"{words}: declined; {s.pathway.sending} keeps "
                               "the case", actor=act.actor, note_ref=act.note_ref,
                               notices=notices)
