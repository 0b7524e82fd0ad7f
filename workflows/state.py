"""What a transfer knows at any instant, and the decisions that follow from it alone.

Pure: no Temporal, no clock, no I/O. The workflow owns one `TransferState`,
passes in the present instant where a decision needs it, and does the waiting,
planning and recording itself; so everything here can be tested directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from models.days import london_date, london_offset
from models.protocol import Pathway, Role, RoleRef, Side
from models.transfer import (
    DeadlineStatus,
    DeadlineView,
    DisputeView,
    GateView,
    ResolvedCalendar,
    Stage,
    TaskView,
    TransferInput,
    TransferView,
)
from workflows.rules import level_refs, who

OPEN_STAGES = (Stage.proposed, Stage.ready, Stage.disputed)
AFTER_TRANSFER = (Stage.transferred, Stage.allocated)
TRANSFER_DATE = "transfer_date"
TEAM_MANAGERS = [RoleRef(role=Role.team_manager, side=Side.sending),
                 RoleRef(role=Role.team_manager, side=Side.receiving)]
KEY_DATE = "key_date"  # the kind of the reminder on a key date's day


def start_of_day(day: date) -> datetime:
    """00:00 London time on `day`, as a UTC instant (the clocks never change at midnight)."""
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    return midnight - london_offset(midnight - timedelta(hours=1))


class TransferState:
    def __init__(self, inp: TransferInput) -> None:
        self.inp = inp
        self.pathway: Pathway = inp.pathway
        self.calendar_spec = inp.calendar
        self.calendar: ResolvedCalendar | None = None
        self.stage = Stage.proposed
        self.seq = 0
        self.opened = False
        self.transferred_at: datetime | None = None
        self.allocated_worker: str | None = None
        self.allocated_at: datetime | None = None
        self.redirected_to: str | None = None
        self.dispute: DisputeView | None = None
        self.agreed_date_set = inp.agreed_transfer_date is not None
        self.follow_up_notify: dict[str, list[RoleRef]] = {}
        self.extension_offers: dict[str, dict[str, str]] = {}  # deadline -> side -> date
        self.parties: dict[str, str] = dict(inp.parties)  # party -> team, as they are named
        self.key_dates: dict[str, date] = {}  # as they are planned
        self.tasks: dict[str, TaskView] = {}  # untimed post-transfer tasks
        self.breach_taken: dict[str, set[int]] = {}  # deadline -> on_breach actions taken
        self.gates = {
            gid: GateView(id=gid, title=g.title, action=self.pathway.gate_action(gid))
            for gid, g in self.pathway.gates.items()
        }
        self.deadlines: dict[str, DeadlineView] = {}

    # ----- the calendar ------------------------------------------------------------------

    def closed_days(self) -> frozenset[date]:
        return frozenset(self.calendar.non_working_dates if self.calendar else [])

    def today(self, now: datetime) -> date:
        """The London date at `now`: the date a manager in the authority would say it is."""
        return london_date(now)

    # ----- progress --------------------------------------------------------------------

    def requirements_met(self) -> bool:
        return all(self.clear(g) for g in self.pathway.transfer.requires)

    def not_needed(self, gate_id: str) -> bool:
        """A conditional step that an earlier answer made unnecessary."""
        condition = self.pathway.gates[gate_id].condition()
        if condition is None:
            return False
        answer = self.gates[condition[0]].outcome
        return answer is not None and answer != condition[1]

    def clear(self, gate_id: str) -> bool:
        """Done, or not needed: nothing waits on it any longer."""
        return self.gates[gate_id].done or self.not_needed(gate_id)

    def applies(self, condition: str | None) -> bool:
        """Whether a clock's `applies_if` holds now (no condition: always)."""
        if condition is None:
            return True
        gate, _, outcome = condition.partition(":")
        return self.gates[gate].outcome == outcome

    def awaiting(self, gate_id: str) -> list[RoleRef]:
        """A joint decision's parties who have not yet agreed."""
        spec, gate = self.pathway.gates[gate_id], self.gates[gate_id]
        if not spec.joint or gate.done:
            return []
        agreed = {a.party for a in gate.agreed}
        return [ref for ref in spec.by if str(ref) not in agreed]

    def transfer_due(self, now: datetime) -> bool:
        if not self.requirements_met():
            return False
        if self.pathway.transfer.agreed_date is None:
            return True
        # No date yet (its default deadline has not started): wait for it.
        date_ = self.deadlines.get(TRANSFER_DATE)
        return date_ is not None and date_.due_at <= now

    def milestone_done(self, milestone: str) -> bool:
        if milestone == "transferred":
            return self.transferred_at is not None
        if milestone == "allocated":
            return self.allocated_worker is not None
        gate_id, _, answered = milestone.partition(":")
        if gate_id not in self.gates:
            return False
        gate = self.gates[gate_id]
        return gate.outcome is not None if answered else gate.done

    def reached(self, milestone: str) -> None:
        for d in self.deadlines.values():
            if d.met_when != milestone:
                continue
            if d.status is DeadlineStatus.pending:
                d.status = DeadlineStatus.met
            elif d.status is DeadlineStatus.missed:
                d.status = DeadlineStatus.met_late

    def settle_stage(self) -> None:
        if self.stage in (Stage.proposed, Stage.ready, Stage.disputed) and self.dispute is None:
            self.stage = Stage.ready if self.requirements_met() else Stage.proposed

    def all_clocks_ended(self) -> bool:
        return all(d.status is not DeadlineStatus.pending
                   for d in self.deadlines.values() if d.kind != TRANSFER_DATE) \
            and all(t.done for t in self.tasks.values())

    def started_at(self, event: str) -> datetime | None:
        """When a clock's starting event happened, if it has."""
        if event == "anchor":
            return self.inp.anchor_at
        if event == "transferred":
            return self.transferred_at
        if event == "allocated":
            return self.allocated_at
        if event in self.key_dates:
            return start_of_day(self.key_dates[event])
        gate = self.gates.get(event)
        if gate is None or not gate.done:
            return None
        return start_of_day(gate.event_date) if gate.event_date else gate.done_at

    # ----- timers ----------------------------------------------------------------------

    def next_wake(self, now: datetime) -> datetime | None:
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
        times += [t.remind_at for t in self.tasks.values()
                  if t.remind_at is not None and not t.reminded and not t.done]
        return min(times, default=None)

    def wake_summary(self, wake_at: datetime | None) -> str:
        due = [d.title for d in self.deadlines.values() if d.due_at == wake_at]
        if self.dispute is not None and self.dispute.level_due_at == wake_at:
            due.append(f"{self.dispute.title}: next level")
        return f"Wait for actions or: {due[0]}"[:190] if due else "Wait for actions"

    # ----- the dispute ladder, in words ------------------------------------------------

    def level_words(self) -> str:
        assert self.dispute is not None
        ladder = self.pathway.ladders[self.dispute.ladder]
        return self.who(level_refs(ladder, self.dispute.level))

    def resolve_by(self) -> str:
        assert self.dispute is not None
        if self.dispute.level_due_at is None:
            return "The time allowed for resolving it has run out."
        return f"Resolve it by {self.dispute.level_due_local}."

    def time_allowed(self, ladder_name: str) -> str:
        levels = self.pathway.ladders[ladder_name].levels
        allows = [lv.allow for lv in levels if lv.allow is not None]
        if len({a.unit for a in allows}) == 1:
            return str(allows[0].model_copy(update={"amount": sum(a.amount for a in allows)}))
        return " + ".join(str(a) for a in allows)

    # ----- what a manager sees ---------------------------------------------------------

    def waiting_for(self) -> list[str]:
        if self.dispute is not None:
            d = self.dispute
            return [f"resolution of the dispute by the {self.level_words()}"
                    + (f", by {d.level_due_local}" if d.level_due_local else " (time is up)")]
        if self.stage in (Stage.proposed, Stage.ready):
            items = [
                f"{g.title} ({self.who(self.awaiting(gid) or self.pathway.gates[gid].by)})"
                for gid, g in self.gates.items()
                if not self.clear(gid) and self.ready_for(gid)
            ]
            date_ = self.deadlines.get(TRANSFER_DATE)
            if date_ is not None:
                items.append(f"the agreed transfer date, {date_.due_local}")
            return items
        if self.stage not in AFTER_TRANSFER:
            return []
        # After the transfer: the allocation, then whatever still runs (a deadline such as
        # tasks outstanding by an agreed date, post-transfer duties and periods).
        allocation = self.pathway.allocation
        items = [f"allocation of a worker ({self.who(allocation.by)})"
                 ] if self.stage is Stage.transferred and allocation else []
        return items + [f"{d.title}, due {d.due_local}" for d in self.deadlines.values()
                        if d.kind != TRANSFER_DATE and d.status is DeadlineStatus.pending] \
            + [f"{t.title} (outstanding, no timescale)" for t in self.tasks.values()
               if not t.done]

    def ready_for(self, gate_id: str) -> bool:
        """Every step it comes after is clear, and so is the answer it depends on."""
        spec = self.pathway.gates[gate_id]
        condition = spec.condition()
        return all(self.clear(a) for a in spec.after) and (
            condition is None or self.gates[condition[0]].outcome is not None)

    def who(self, refs: list[RoleRef]) -> str:
        return who(self.pathway, refs, self.parties)

    def gate_view(self, gate_id: str) -> GateView:
        gate = self.gates[gate_id].model_copy()
        gate.awaiting = [self.who([ref]) for ref in self.awaiting(gate_id)]
        gate.not_needed = self.not_needed(gate_id)
        return gate

    def view(self, transfer_id: str, run_id: str) -> TransferView:
        responsible = (self.pathway.receiving
                       if self.transferred_at is not None and not self.pathway.stays
                       else self.pathway.sending)
        date_ = self.deadlines.get(TRANSFER_DATE)
        return TransferView(
            transfer_id=transfer_id, run_id=run_id, case_id=self.inp.case_id,
            children=self.inp.children, authority=self.inp.authority,
            pathway=self.inp.pathway_id, protocol_version=self.inp.protocol_version,
            stage=self.stage, from_team=self.pathway.sending, to_team=self.pathway.receiving,
            responsible_team=responsible, anchor=self.pathway.anchor.name,
            anchor_at=self.inp.anchor_at, transfer_date=date_.due_at if date_ else None,
            transferred_at=self.transferred_at, allocated_worker=self.allocated_worker,
            escalation_level=self.dispute.level + 1 if self.dispute else 0,
            dispute=self.dispute.model_copy() if self.dispute else None,
            redirected_to=self.redirected_to,
            gates=[self.gate_view(gid) for gid in self.gates],
            deadlines=[d.model_copy() for d in self.deadlines.values()],
            tasks=[t.model_copy() for t in self.tasks.values()],
            parties=dict(self.parties), key_dates=dict(self.key_dates),
            externals=dict(self.inp.externals),
            waiting_for=self.waiting_for(), seq=self.seq,
        )
