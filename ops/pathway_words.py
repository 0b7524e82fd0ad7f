"""A protocol in plain words: what each pathway asks, who does it, and its clocks.

What `make check-protocols` prints for each authority, built from the protocol
alone; `ops.pathway_tables` makes the README's tables from the same words.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.protocol import (
    Deadline,
    Duty,
    DutyKind,
    Gate,
    GateKind,
    Ladder,
    Outcome,
    Pathway,
    Protocol,
    Role,
    RoleRef,
    Side,
)
from workflows.wording import ROLE_WORDS

INDENT = "  "
NOTICE_WORDS = {"started": "when it is proposed", "transferred": "when the case transfers",
                "allocated": "when a worker is allocated", "withdrawn": "when it is withdrawn"}


# ----- words ------------------------------------------------------------------------------


def person(ref: RoleRef, pathway: Pathway) -> str:
    """`Team Manager of sgcp`, or `Head of Service (any team)` for an authority-wide role."""
    role = ROLE_WORDS[ref.role.value]
    outside = pathway.external(ref)
    if outside is not None:
        # Written after "the": "the other local authority", "the CAFCASS".
        title = pathway.externals[outside].title.removeprefix("The ").removeprefix("the ")
        return (f"{title} (emailed at its address)" if ref.role is Role.contact
                else f"{role} of the {title} (emailed at its address)")
    if ref.side is Side.authority:
        return f"{role} (any team)"
    if ref.side is Side.party:
        assert ref.party is not None
        party = pathway.parties.get(ref.party)
        return f"{role} of the {party.title}" if party else f"{role} of {ref.party}"
    return f"{role} of {pathway.sending if ref.side is Side.sending else pathway.receiving}"


def plural(role: str) -> str:
    """`Heads of Service`, `Team Managers`."""
    first, sep, rest = role.partition(" of ")
    return f"{first}s{sep}{rest}"


def listing(words: Sequence[str], last: str = "and") -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def people(refs: Sequence[RoleRef], pathway: Pathway, last: str = "and") -> str:
    """`the Team Manager of sgcp and the Team Manager of lac` (`or` for who may act)."""
    return listing([f"the {person(r, pathway)}" for r in refs], last)


def quoted(titles: Sequence[str]) -> str:
    return listing([f"'{t}'" for t in titles])


def gate_title(pathway: Pathway, gate_id: str) -> str:
    gate = pathway.gates.get(gate_id)
    return gate.title if gate is not None else gate_id


def gate_titles(pathway: Pathway, gate_ids: Sequence[str]) -> list[str]:
    return [gate_title(pathway, g) for g in gate_ids]


def start_words(pathway: Pathway, start: str) -> str:
    """What starts a clock: the anchor, the transfer, the allocation or a gate."""
    if start == "anchor":
        return f"the {pathway.anchor.title}"
    if start == "transferred":
        return point_words(pathway)[0]
    if start == "allocated":
        return "the allocation of a worker"
    if start in pathway.key_dates:
        return f"the key date '{pathway.key_dates[start].title}'"
    dated = any(o.event_date for o in pathway.outcomes(start).values())
    if dated:
        return f"the date '{gate_title(pathway, start)}' happened (given when it is recorded)"
    return f"'{gate_title(pathway, start)}' being recorded"


def point_words(pathway: Pathway) -> tuple[str, str, str]:
    """The transfer point's words: as a start, as what meets a clock, as a notice's moment."""
    if pathway.closes:
        return "the closure", "the case must close", "when the case closes"
    if pathway.stays:
        return "its completion", "it must be complete", "when it is complete"
    return "the transfer", "the case must transfer", "when the case transfers"


def met_words(pathway: Pathway, met_when: str) -> str:
    """What meets a deadline: the transfer, the allocation, a gate, or any answer at a gate."""
    if met_when == "transferred":
        return point_words(pathway)[1]
    if met_when == "allocated":
        return "a worker must be allocated"
    gate_id, _, how = met_when.partition(":")
    if how == "answered":
        return f"'{gate_title(pathway, gate_id)}' must be answered (any outcome)"
    return f"'{gate_title(pathway, met_when)}' must be recorded"


def percent(fraction: float) -> str:
    return f"{round(fraction * 100)}%"


def ladder_total(ladder: Ladder) -> str:
    allows = [level.allow for level in ladder.levels if level.allow is not None]
    if len({a.unit for a in allows}) == 1:
        return str(allows[0].model_copy(update={"amount": sum(a.amount for a in allows)}))
    return " + ".join(str(a) for a in allows)


def level_people(ladder: Ladder, index: int) -> str:
    level = ladder.levels[index]
    role = ROLE_WORDS[level.role.value]
    sides = [{Side.sending: "the sending team", Side.receiving: "the receiving team",
              Side.authority: "the authority"}[side] for side in level.of]
    return f"{role} of {listing(sides)}"


# ----- the plain-words description ----------------------------------------------------------


def describe_outcome(name: str, outcome: Outcome, pathway: Pathway, protocol: Protocol) -> str:
    does: list[str] = []
    if outcome.completes:
        does.append("completes the gate")
    if outcome.reopens:
        does.append(f"sends back to be done again: {quoted(gate_titles(pathway, outcome.reopens))}")
    if outcome.dispute:
        ladder = protocol.ladders[outcome.dispute]
        does.append(f"starts the dispute ladder '{ladder.title}'")
    if outcome.needs_date:
        words = "needs a date"
        if outcome.min_notice:
            words += f" at least {outcome.min_notice} ahead"
        if outcome.follow_up:
            met_by = gate_title(pathway, outcome.follow_up_met_by) \
                if outcome.follow_up_met_by else "the gate"
            when = f"{outcome.follow_up_before} before that date" \
                if outcome.follow_up_before else "by that date"
            words += f"; '{outcome.follow_up}' is then due {when} (met when {met_by} is recorded)"
        does.append(words)
    if outcome.event_date:
        does.append("gives the date it happened (clocks from this step count from that day)")
    if outcome.names_party:
        party = pathway.parties[outcome.names_party]
        does.append(f"names the {party.title}")
    if outcome.reason_required:
        does.append("the manager must say why")
    if outcome.notify:
        does.append(f"emails {people(outcome.notify, pathway)}")
    if not does:
        does.append("is recorded; the gate stays open")
    return f"{name} (action {outcome.action}): {'; '.join(does)}"


def describe_gate(gate_id: str, gate: Gate, pathway: Pathway, protocol: Protocol) -> list[str]:
    kind = {GateKind.approval: "approval", GateKind.checklist: "checklist",
            GateKind.meeting: "meeting"}[gate.kind]
    if gate.joint:
        lines = [f"- {gate.title} [{gate_id}]: a joint decision: {people(gate.by, pathway)} "
                 "each record their agreement; done when all have"]
    else:
        lines = [f"- {gate.title} [{gate_id}]: {kind} recorded by "
                 f"{people(gate.by, pathway, 'or')}"]
    condition = gate.condition()
    if condition is not None:
        lines.append(f"{INDENT}only if '{gate_title(pathway, condition[0])}' was answered "
                     f"'{condition[1]}' (otherwise not needed)")
    if gate.after:
        lines.append(f"{INDENT}only after: {quoted(gate_titles(pathway, gate.after))}")
    if gate.items:
        lines.append(f"{INDENT}items to confirm: {', '.join(gate.items)}")
    if gate.if_applicable:
        lines.append(f"{INDENT}may be marked not applicable, with the reason: "
                     f"{', '.join(gate.if_applicable)}")
    if gate.attendees:
        lines.append(f"{INDENT}attendees: {', '.join(gate.attendees)}")
    if gate.required_attendees:
        lines.append(f"{INDENT}not held without: {', '.join(gate.required_attendees)}")
    if gate.notify:
        lines.append(f"{INDENT}when recorded, emails {people(gate.notify, pathway)}")
    if gate.outcomes:
        lines.append(f"{INDENT}outcomes:")
        lines += [f"{INDENT * 2}{describe_outcome(name, outcome, pathway, protocol)}"
                  for name, outcome in gate.outcomes.items()]
    else:
        lines.append(f"{INDENT}action: {pathway.gate_action(gate_id)}")
    return lines


def transfer_words(pathway: Pathway) -> str:
    rule = pathway.transfer
    required = quoted(gate_titles(pathway, rule.requires))
    if rule.when == "gates":
        return (f"as soon as these are recorded: {required}" if rule.requires
                else "as soon as the transfer is proposed")
    assert rule.agreed_date is not None
    default = pathway.deadlines[rule.agreed_date.default]
    words = (f"at the end of the agreed working day (by default the due day of '{default.title}';"
             f" the date may be agreed by {people(rule.agreed_date.set_by, pathway, 'or')})")
    if rule.requires:
        words += f", once these are recorded: {required}"
    others = [g.title for gid, g in pathway.gates.items() if gid not in rule.requires]
    if others:
        words += f"; it transfers even if these are not: {quoted(others)}"
    return words


def describe_deadline(name: str, deadline: Deadline, pathway: Pathway) -> list[str]:
    lines = [f"- {deadline.title} [{name}]: {met_words(pathway, deadline.met_when)} within "
             f"{deadline.within} of {start_words(pathway, deadline.start)}"]
    if deadline.applies_if is not None:
        gate, _, outcome = deadline.applies_if.partition(":")
        lines.append(f"{INDENT}runs only if '{gate_title(pathway, gate)}' was answered "
                     f"'{outcome}'")
    if deadline.warn is not None:
        shares = listing([percent(f) for f in sorted(deadline.warn.at)])
        lines.append(f"{INDENT}warnings at {shares} of the time to "
                     f"{people(deadline.warn.notify, pathway)}")
    actions = []
    for action in deadline.on_breach:
        steps = []
        if action.notify:
            steps.append(f"email {people(action.notify, pathway)}")
        if action.transfer:
            steps.append("transfer the case at once")
        words = " and ".join(steps)
        if action.only_if:
            done = quoted(gate_titles(pathway, action.only_if))
            words += f" (once these are recorded, at the breach or later: {done})"
        actions.append(words)
    lines.append(f"{INDENT}if missed: {'; '.join(actions) if actions else 'recorded as missed'}")
    if deadline.extend_by:
        lines.append(f"{INDENT}may be extended or paused, with a reason, by "
                     f"{people(deadline.extend_by, pathway, 'or')}")
    if deadline.late_reason_required:
        lines.append(f"{INDENT}meeting it late needs the reason for the delay")
    return lines


def duty_start(pathway: Pathway, duty: Duty) -> str:
    return "the transfer" if duty.start == "transferred" else start_words(pathway, duty.start)


def describe_duty(name: str, duty: Duty, pathway: Pathway) -> list[str]:
    after = f"{duty.within} after {duty_start(pathway, duty)}"
    if duty.kind is DutyKind.task and duty.within is None:
        lines = [f"- {duty.title} [{name}]: a task for {people(duty.by, pathway, 'or')}, with "
                 f"no timescale: outstanding, and holding the transfer open, until done "
                 f"(action {pathway.duty_action(name)})"]
        if duty.remind_after is not None:
            lines.append(f"{INDENT}if still outstanding {duty.remind_after} after "
                         f"{duty_start(pathway, duty)}: remind {people(duty.remind, pathway)}")
    elif duty.kind is DutyKind.task:
        lines = [f"- {duty.title} [{name}]: a task for {people(duty.by, pathway, 'or')}, "
                 f"due {after} (action {pathway.duty_action(name)})",
                 f"{INDENT}if overdue: remind {people(duty.remind, pathway)}"]
        if duty.extend_by:
            lines.append(f"{INDENT}may be extended, with a reason, by "
                         f"{people(duty.extend_by, pathway, 'or')}")
    else:
        lines = [f"- {duty.title} [{name}]: a period lasting until {after}"]
        if duty.on_end:
            lines.append(f"{INDENT}when it ends: tell {people(duty.on_end, pathway)}")
    if duty.reopen is not None:
        reopen = duty.reopen
        lines.append(f"{INDENT}meanwhile, {people(reopen.by, pathway, 'or')} may record "
                     f"'{reopen.title}' (action {reopen.action}), which emails "
                     f"{people(reopen.notify, pathway)}")
    return lines


def describe_ladder(name: str, ladder: Ladder) -> list[str]:
    lines = [f"- {ladder.title} [{name}]:"]
    last = len(ladder.levels) - 1
    for index, level in enumerate(ladder.levels):
        if level.allow is not None:
            then = (f"; then told that it was not resolved within {ladder_total(ladder)}"
                    if index == last else "")
            lines.append(f"{INDENT}{index + 1}. the {level_people(ladder, index)}: "
                         f"{level.allow} to resolve it{then}")
        else:
            lines.append(f"{INDENT}{index + 1}. the {level_people(ladder, index)}: told if it "
                         f"is not resolved within {ladder_total(ladder)} in all")
    return lines


def describe_pathway(pathway_id: str, pathway: Pathway, protocol: Protocol) -> list[str]:
    teams = {**protocol.teams, **{n: f"outside the council: {e.title}"
                                  for n, e in protocol.externals.items()}}
    lines = [
        f"Pathway {pathway_id}: {pathway.title}",
        f"{INDENT}{pathway.sending} ({teams[pathway.sending]}) → "
        f"{pathway.receiving} ({teams[pathway.receiving]})",
        f"{INDENT}started by {people(pathway.start_by, pathway, 'or')}; withdrawn by "
        f"{people(pathway.withdraw_by, pathway, 'or')}",
        f"{INDENT}the clock starts at: {pathway.anchor.title} [{pathway.anchor.name}]",
    ]
    for name, party in pathway.parties.items():
        when = "when the transfer starts" if party.named_at == "start" \
            else f"by '{gate_title(pathway, party.named_at)}'"
        lines.append(f"{INDENT}also involved: the {party.title} [{name}], named {when}")
    for name, key in pathway.key_dates.items():
        told = f"; on the day, {people(key.notify, pathway)} are told" if key.notify else ""
        lines.append(f"{INDENT}key date: {key.title} [{name}], a plain date given by "
                     f"{people(key.set_by, pathway, 'or')} (never a date of birth){told}")
    if pathway.raise_dispute is not None:
        rule = pathway.raise_dispute
        ladder = protocol.ladders[rule.ladder]
        lines.append(f"{INDENT}at any stage before the transfer, "
                     f"{people(rule.by, pathway, 'or')} may dispute it (action raise-dispute,"
                     f" with the reason): the ladder '{ladder.title}' starts")
    lines.append(f"{INDENT}gates:")
    for gate_id, gate in pathway.gates.items():
        lines += [INDENT * 2 + line for line in describe_gate(gate_id, gate, pathway, protocol)]
    if pathway.closes:
        lines.append(f"{INDENT}the case closes: {transfer_words(pathway)}")
    elif pathway.stays:
        lines.append(f"{INDENT}it is complete (the case stays with {pathway.sending}): "
                     f"{transfer_words(pathway)}")
    else:
        lines.append(f"{INDENT}the case transfers: {transfer_words(pathway)}")
    if pathway.allocation is not None:
        lines.append(f"{INDENT}a worker is then allocated by "
                     f"{people(pathway.allocation.by, pathway, 'or')}")
    elif pathway.leaves:
        lines.append(f"{INDENT}the case leaves the council for "
                     f"{pathway.externals[pathway.receiving].title}: nobody here allocates it")
    if pathway.deadlines:
        lines.append(f"{INDENT}deadlines:")
        for name, deadline in pathway.deadlines.items():
            lines += [INDENT * 2 + line for line in describe_deadline(name, deadline, pathway)]
    else:
        lines.append(f"{INDENT}deadlines: none")
    if pathway.after_transfer:
        lines.append(f"{INDENT}after {point_words(pathway)[0]}:")
        for name, duty in pathway.after_transfer.items():
            lines += [INDENT * 2 + line for line in describe_duty(name, duty, pathway)]
    notices = [(event, refs) for event, refs in pathway.notify
               if event in NOTICE_WORDS and refs]  # not its local_choice
    if notices:
        lines.append(f"{INDENT}emails: " + "; ".join(
            f"{point_words(pathway)[2] if event == 'transferred' else NOTICE_WORDS[event]}, "
            f"{people(refs, pathway)}" for event, refs in notices))
    return lines


def describe(protocol: Protocol) -> list[str]:
    """What a protocol does, in plain words, one line at a time."""
    cal = protocol.calendar
    closures = ", ".join(f"{d:%a %d %b %Y}" for d in cal.closure_days) or "none"
    lines = [
        f"{protocol.authority}: {protocol.title} (version {protocol.version})",
        f"{INDENT}working days: Monday to Friday except England & Wales bank holidays "
        f"(substitute days included) and local closure days ({closures}); "
        f"a working day ends at {cal.working_day_ends:%H:%M} {cal.timezone} time",
        f"{INDENT}teams: " + "; ".join(f"{code} ({name})" for code, name in protocol.teams.items()),
    ]
    for pathway_id, pathway in protocol.pathways.items():
        lines.append("")
        lines += [INDENT + line for line in describe_pathway(pathway_id, pathway, protocol)]
    if protocol.ladders:
        lines += ["", f"{INDENT}dispute ladders:"]
        for name, ladder in protocol.ladders.items():
            lines += [INDENT * 2 + line for line in describe_ladder(name, ladder)]
    meeting = protocol.weekly_meeting
    if meeting is not None:
        agenda = sorted({p.gates[meeting.agenda_gate].title for p in protocol.pathways.values()
                         if meeting.agenda_gate in p.gates}) or [meeting.agenda_gate]
        lines += ["", f"{INDENT}weekly meeting: {meeting.title}, every "
                  f"{meeting.weekday.capitalize()}; papers due by {meeting.papers_due:%H:%M} "
                  "(on the nearest working day when that day is not one); chaired in turn by "
                  f"the authority's {plural(ROLE_WORDS[meeting.chair.value])}; on its agenda: "
                  f"transfers waiting for {quoted(agenda)}"
                  + ("; papers filed after that time are held over to the next week's meeting"
                     if meeting.late_papers_held_over else "")]
    return lines


