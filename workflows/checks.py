"""Whether an action may be taken now, and if not, why: the validators' rules, pure.

Each check reads the transfer's state and the present instant and either
returns what the action will act on or raises a `Refusal` a manager can read.
The workflow runs the same check in the Update's validator (so a refused action
leaves no trace in history) and again in its handler, under the lock.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from models.days import add_working_days, london_date
from models.protocol import DurationUnit, DutyKind, GateKind, Outcome
from models.transfer import (
    AllocateAction,
    DeadlineChange,
    DeadlineStatus,
    DeadlineView,
    DisputeAction,
    DutyAction,
    GateAction,
    KeyDateAction,
    Recalculation,
    Stage,
    TransferDateAction,
    WithdrawAction,
)
from workflows.cut_off import check_papers_in_time
from workflows.rules import check_actor, joint_parties, levels_of, rejected
from workflows.state import AFTER_TRANSFER, OPEN_STAGES, TransferState
from workflows.wording import actor_words


def check_opened(s: TransferState) -> None:
    if not s.opened:
        raise rejected("WrongStage", "The transfer is still being opened; try again shortly")


def check_stage(s: TransferState, allowed: tuple[Stage, ...], doing: str) -> None:
    if s.stage not in allowed:
        raise rejected("WrongStage", f"Cannot {doing} now: the transfer is {s.stage.value}"
                                     f" (allowed when {' or '.join(allowed)})")


def check_gate(s: TransferState, act: GateAction, now: datetime) -> tuple[str, str]:
    check_opened(s)
    by_action = s.pathway.actions()
    if act.action not in by_action:
        raise rejected("InvalidInput", f"'{act.action}' is not an action of pathway "
                       f"{s.inp.pathway_id}; its actions are: {', '.join(by_action)}")
    gate_id, outcome_name = by_action[act.action]
    spec, gate = s.pathway.gates[gate_id], s.gates[gate_id]
    outcome = s.pathway.outcomes(gate_id)[outcome_name]
    late_ok = gate_id not in s.pathway.transfer.requires and outcome.completes \
        and not outcome.dispute  # e.g. outstanding records, which never delay a transfer
    check_stage(s, OPEN_STAGES + (AFTER_TRANSFER if late_ok else ()), f"record '{spec.title}'")
    if gate.done:
        raise rejected("WrongStage", f"{spec.title} was already recorded by {gate.done_by} "
                                     f"at {gate.done_at:%Y-%m-%d %H:%M} UTC")
    if outcome.dispute and s.dispute is not None:
        raise rejected("WrongStage", f"The transfer is already disputed ({s.dispute.title}"
                                     f", with {s.level_words()})")
    check_order(s, gate_id)
    check_papers_in_time(s, gate_id, now)
    check_actor(s.pathway, spec.by, act.actor, f"record '{spec.title}'", s.parties)
    if spec.joint and outcome.completes:
        check_agreement(s, gate_id, outcome_name, act)
    if outcome.reason_required and act.note_ref is None:
        raise rejected("InvalidInput", f"Say why in 'note' to {act.action}")
    if outcome.needs_date:
        check_working_day(s, act.on_date, f"{act.action} needs a 'date'", now)
        check_notice(s, act, outcome, now)
    elif outcome.event_date:
        check_event_date(s, act, now)
    check_party_named(s, outcome.names_party, act)
    if spec.kind is GateKind.checklist and outcome.completes:
        check_checklist(s, gate_id, act)
    elif act.items or act.not_applicable:
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


def check_order(s: TransferState, gate_id: str) -> None:
    spec = s.pathway.gates[gate_id]
    if s.not_needed(gate_id):
        gate, outcome = spec.applies_if.partition(":")[::2] if spec.applies_if else ("", "")
        raise rejected("WrongStage", f"{spec.title} is not needed: "
                                     f"{s.pathway.gates[gate].title} was answered "
                                     f"'{s.gates[gate].outcome}', not '{outcome}'")
    waiting = [s.pathway.gates[g].title for g in spec.after if not s.clear(g)]
    condition = spec.condition()
    if condition is not None and s.gates[condition[0]].outcome is None:
        waiting.append(s.pathway.gates[condition[0]].title)
    if waiting:
        raise rejected("WrongStage", f"{spec.title} can be recorded only after: "
                                     + "; ".join(waiting))


def check_agreement(s: TransferState, gate_id: str, outcome_name: str, act: GateAction
                    ) -> None:
    """A joint decision: the actor agrees for a party that has not yet agreed, to the same
    answer as those who already have (or disputes it instead)."""
    spec = s.pathway.gates[gate_id]
    other = next((a for a in s.gates[gate_id].agreed
                  if a.outcome is not None and a.outcome != outcome_name), None)
    if other is not None:
        raise rejected("WrongStage", f"{spec.title}: {other.staff_id} agreed to "
                                     f"'{other.outcome}'; a joint decision needs the same "
                                     "answer from each (or dispute it)")
    mine = joint_parties(spec.by, act.actor, s.pathway, s.parties)
    agreed = {a.party for a in s.gates[gate_id].agreed}
    if all(party in agreed for party in mine):
        waiting = s.who(s.awaiting(gate_id))
        raise rejected("WrongStage", f"{spec.title}: your agreement is already recorded; it "
                                     f"waits for the {waiting}")


def check_event_date(s: TransferState, act: GateAction, now: datetime) -> None:
    if act.on_date is None:
        raise rejected("InvalidInput", f"{act.action} needs the 'date' it happened")
    if act.on_date > s.today(now):
        raise rejected("InvalidInput", f"{act.on_date:%A %d %B %Y} is in the future; give the "
                                       "date it happened")


def check_party_named(s: TransferState, party: str | None, act: GateAction) -> None:
    if party is None:
        if act.team is not None:
            raise rejected("InvalidInput", f"'{act.action}' names no team; send no 'team'")
        return
    title = s.pathway.parties[party].title
    if act.team not in s.inp.teams:
        raise rejected("InvalidInput", f"Name the {title} in 'team', one of: "
                                       + ", ".join(s.inp.teams))


def check_checklist(s: TransferState, gate_id: str, act: GateAction) -> None:
    spec = s.pathway.gates[gate_id]
    missing = [i for i in spec.items if i not in act.items and i not in act.not_applicable]
    unknown = [i for i in [*act.items, *act.not_applicable] if i not in spec.items]
    if missing or unknown:
        problems = [f"Not confirmed: {', '.join(missing)}." if missing else "",
                    f"Not on this checklist: {', '.join(unknown)}." if unknown else ""]
        raise rejected("InvalidInput", " ".join(
            ["The checklist must confirm every item.", *filter(None, problems)]))
    both = [i for i in act.not_applicable if i in act.items]
    if both:
        raise rejected("InvalidInput", f"Confirmed and not applicable at once: {', '.join(both)}")
    mandatory = [i for i in act.not_applicable if i not in spec.if_applicable]
    if mandatory:
        raise rejected("InvalidInput", f"Every transfer needs {', '.join(mandatory)}: it cannot "
                                       "be marked not applicable")
    if act.not_applicable and act.note_ref is None:
        raise rejected("InvalidInput", "Give the reason each item is not applicable")


def check_notice(s: TransferState, act: GateAction, outcome: Outcome, now: datetime) -> None:
    notice_needed = outcome.min_notice
    if notice_needed is None or act.on_date is None or s.calendar is None:
        return
    # Notice runs from the referral (the anchor) or from today, whichever is later.
    today = max(s.today(now), london_date(s.inp.anchor_at))
    if notice_needed.unit is DurationUnit.working_days:
        earliest = add_working_days(today, notice_needed.amount, s.closed_days())
    else:
        earliest = today + timedelta(days=notice_needed.amount)
    if act.on_date < earliest:
        raise rejected("InvalidInput", f"{act.action} needs {notice_needed} notice: the "
                                       f"earliest date is {earliest:%A %d %B %Y}")


def check_known_day(s: TransferState, day: date) -> None:
    """A running transfer never counts a day whose bank holidays it does not know."""
    if s.calendar is not None and day.year > s.calendar.last_year:
        raise rejected("InvalidInput", f"{day:%A %d %B %Y} is beyond the calendar this transfer "
                                       f"knows (to the end of {s.calendar.last_year}); choose "
                                       "an earlier date, or ask an operator to recalculate")


def check_working_day(s: TransferState, day: date | None, missing: str, now: datetime) -> None:
    if day is None:
        raise rejected("InvalidInput", missing)
    if day < s.today(now):
        raise rejected("InvalidInput", f"{day:%A %d %B %Y} has passed; choose a later date")
    check_known_day(s, day)
    if s.calendar is not None and (day.weekday() >= 5 or day in s.calendar.non_working_dates):
        raise rejected("InvalidInput", f"{day:%A %d %B %Y} is not a working day; choose a "
                                       "working day")


def check_raise_dispute(s: TransferState, act: DisputeAction) -> None:
    """Either side disputes the transfer, at any stage before it happens."""
    rule = s.pathway.raise_dispute
    if rule is None:
        raise rejected("WrongStage", f"Pathway {s.inp.pathway_id} has no dispute to raise at "
                                     "large; dispute it at the step that asks for a decision")
    if s.dispute is not None:
        raise rejected("WrongStage", f"The transfer is already disputed ({s.dispute.title}"
                                     f", with {s.level_words()})")
    check_stage(s, (Stage.proposed, Stage.ready), "raise a dispute")
    check_actor(s.pathway, rule.by, act.actor, "dispute the transfer", s.parties)
    if act.note_ref is None:
        raise rejected("InvalidInput", "Say why in 'note' to dispute the transfer")


def check_dispute_step(s: TransferState, act: DisputeAction) -> None:
    check_opened(s)
    if act.kind == "raise":
        check_raise_dispute(s, act)
        return
    if s.dispute is None:
        raise rejected("WrongStage", f"There is no dispute to {act.kind} (the transfer is "
                                     f"{s.stage.value})")
    ladder = s.pathway.ladders[s.dispute.ladder]
    levels = levels_of(ladder, act.actor, s.pathway)
    current = s.dispute.level
    if not levels or max(levels) < current or (act.kind == "acknowledge"
                                               and current not in levels):
        needed = "at" if act.kind == "acknowledge" else "at or above"
        raise rejected("NotPermitted", f"Only a manager {needed} the dispute's current level "
                                       f"({s.level_words()}) may {act.kind} it; you are "
                                       f"signed in as {actor_words(act.actor)}")
    if act.kind == "resolve":
        if act.resolution is None:
            raise rejected("InvalidInput", "Give the resolution: proceed, redirect or decline")
        if act.resolution == "redirect" and (act.to_team not in s.inp.teams or act.to_team
                                             in (s.pathway.sending, s.pathway.receiving)):
            others = [t for t in s.inp.teams
                      if t not in (s.pathway.sending, s.pathway.receiving)]
            raise rejected("InvalidInput", "To redirect, give 'to_team', one of: "
                                           + ", ".join(others))
        if act.note_ref is None:
            raise rejected("InvalidInput", "Say why in 'note' when resolving a dispute")


def check_deadline_change(s: TransferState, act: DeadlineChange, now: datetime
                          ) -> DeadlineView:
    check_opened(s)
    spec = s.pathway.deadlines.get(act.deadline) or s.pathway.after_transfer.get(act.deadline)
    d = s.deadlines.get(act.deadline)
    if spec is None or d is None or d.kind not in ("deadline", "duty"):
        running = [k for k, v in s.deadlines.items() if v.kind in ("deadline", "duty")]
        raise rejected("InvalidInput", f"'{act.deadline}' is not a running deadline of this "
                                       f"transfer; its deadlines are: {', '.join(running)}")
    if not spec.extend_by:
        raise rejected("WrongStage", f"{spec.title} cannot be extended or paused")
    check_actor(s.pathway, spec.extend_by, act.actor, f"{act.kind} '{spec.title}'", s.parties)
    if act.note_ref is None:
        raise rejected("InvalidInput", f"Say why in 'note' to {act.kind} a deadline")
    if d.status in (DeadlineStatus.met, DeadlineStatus.met_late):
        raise rejected("WrongStage", f"{spec.title} is already met")
    if act.kind == "pause" and d.paused_at is not None:
        raise rejected("WrongStage", f"{spec.title} is already paused")
    if act.kind == "resume" and d.paused_at is None:
        raise rejected("WrongStage", f"{spec.title} is not paused")
    if act.kind == "extend":
        check_working_day(s, act.until, "Give the new due date in 'until'", now)
        assert act.until is not None
        if act.until <= london_date(d.due_at):
            raise rejected("InvalidInput", f"An extension must be later than the due date "
                                           f"({d.due_local})")
    return d


def check_transfer_date(s: TransferState, act: TransferDateAction) -> None:
    check_opened(s)
    rule = s.pathway.transfer.agreed_date
    if rule is None:
        raise rejected("WrongStage", f"Pathway {s.inp.pathway_id} transfers when its "
                                     "gates are done; it has no agreed date to set")
    check_stage(s, (Stage.proposed, Stage.ready), "set the transfer date")
    check_actor(s.pathway, rule.set_by, act.actor, "agree the transfer date", s.parties)
    if act.transfer_date < london_date(s.inp.anchor_at):
        raise rejected("InvalidInput", "The transfer date cannot be before the start of the "
                                       f"clock ({s.pathway.anchor.title})")
    check_known_day(s, act.transfer_date)
    if s.calendar is not None and (act.transfer_date.weekday() >= 5 or
                                   act.transfer_date in s.calendar.non_working_dates):
        raise rejected("InvalidInput", f"{act.transfer_date:%A %d %B %Y} is not a working "
                                       "day; choose a working day for the transfer")
    limit = s.deadlines.get(rule.default)
    if limit is not None and act.transfer_date > london_date(limit.due_at):
        raise rejected("InvalidInput", f"The transfer date must be on or before the "
                                       f"deadline: {limit.title} ({limit.due_local})")


def check_allocation(s: TransferState, act: AllocateAction) -> None:
    check_opened(s)
    check_stage(s, (Stage.transferred,), "allocate a worker")
    if s.pathway.allocation is None:
        raise rejected("WrongStage", "No worker is allocated on this pathway: the case "
                       + ("is closed" if s.pathway.closes else
                          f"stays with {s.pathway.sending}" if s.pathway.stays else
                          f"has left the council for {s.pathway.receiving}"))
    check_actor(s.pathway, s.pathway.allocation.by, act.actor, "allocate a worker",
                s.parties)
    for d in s.deadlines.values():
        spec = s.pathway.deadlines.get(d.id)
        if (spec and spec.late_reason_required and d.met_when == "allocated"
                and d.status is DeadlineStatus.missed and act.note_ref is None):
            raise rejected("InvalidInput", f"The allocation is late ({d.title} was due "
                                           f"{d.due_local}): give the reason for the delay "
                                           "in 'note'")


def check_withdrawal(s: TransferState, act: WithdrawAction) -> None:
    check_opened(s)
    check_stage(s, OPEN_STAGES, "withdraw the transfer")
    check_actor(s.pathway, s.pathway.withdraw_by, act.actor, "withdraw the transfer",
                s.parties)


def check_duty(s: TransferState, act: DutyAction) -> tuple[str, bool]:
    """The post-transfer duty an action records, and whether it calls the earlier team back."""
    check_opened(s)
    duties = s.pathway.after_transfer
    tasks = {s.pathway.duty_action(n): n for n, d in duties.items() if d.kind is DutyKind.task}
    reopens = {d.reopen.action: n for n, d in duties.items() if d.reopen}
    duty_id = tasks.get(act.action) or reopens.get(act.action)
    if duty_id is None:
        raise rejected("InvalidInput", f"'{act.action}' is not a post-transfer step of "
                                       f"pathway {s.inp.pathway_id}")
    task = s.tasks.get(duty_id)
    d = s.deadlines.get(duty_id)
    if (d is None and task is None) or s.stage not in AFTER_TRANSFER:
        raise rejected("WrongStage", f"'{act.action}' applies only after the transfer "
                                     f"(the transfer is {s.stage.value})")
    spec = duties[duty_id]
    if task is not None:  # no timescale: outstanding until done
        if task.done:
            raise rejected("WrongStage", f"{task.title} is already recorded as done")
        check_actor(s.pathway, spec.by, act.actor, f"record '{task.title}'", s.parties)
        return duty_id, False
    assert d is not None
    reopening = act.action in reopens
    if reopening:
        assert spec.reopen is not None
        if d.status is not DeadlineStatus.pending:
            raise rejected("WrongStage", f"{d.title} has ended ({d.due_local})")
        check_actor(s.pathway, spec.reopen.by, act.actor, f"record '{spec.reopen.title}'",
                    s.parties)
    else:
        if d.status in (DeadlineStatus.met, DeadlineStatus.met_late):
            raise rejected("WrongStage", f"{d.title} is already recorded as done")
        check_actor(s.pathway, spec.by, act.actor, f"record '{d.title}'", s.parties)
    return duty_id, reopening


def check_key_date(s: TransferState, act: KeyDateAction) -> None:
    check_opened(s)
    spec = s.pathway.key_dates.get(act.name)
    if spec is None:
        known = ", ".join(s.pathway.key_dates) or "none"
        raise rejected("InvalidInput", f"'{act.name}' is not a key date of pathway "
                                       f"{s.inp.pathway_id} (its key dates: {known})")
    check_stage(s, OPEN_STAGES + AFTER_TRANSFER, f"set '{spec.title}'")
    check_actor(s.pathway, spec.set_by, act.actor, f"set '{spec.title}'", s.parties)
    # A key date may lie years ahead (the 18th birthday): planning it extends the calendar.


def check_reason_is_a_ref(req: Recalculation) -> None:
    if req.reason or req.note_ref is None:
        raise rejected("InvalidInput", "Keep the reason in the case store and send its "
                                       "note_ref, never the text")


def check_recalculation(s: TransferState, req: Recalculation) -> None:
    check_opened(s)
    if req.pathway is not None and (req.pathway.sending, req.pathway.receiving) != (
            s.pathway.sending, s.pathway.receiving):
        raise rejected("InvalidInput", "A corrected pathway must keep its teams")

