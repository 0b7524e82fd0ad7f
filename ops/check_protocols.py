"""Check every protocol file and say, in plain words, what each authority's pathways do.

    python -m ops.check_protocols [DIR] [--markdown]      (or: make check-protocols)

Every `*.yaml` in DIR (default: the configured protocols directory) is loaded
with the same validation the system runs at start-up. A malformed file is
reported with its file, field and problem, and the others are still checked;
the exit status is 1 if any file is malformed (or none is found), else 0.
The registers of the seeds' rules (DIR/register/*.yaml, see ops/coverage.py) are checked
too: a key that does not resolve or a quote not in the seed also exits 1.

For each valid file it prints what a manager would want to know: the pathways
(from → to), what starts the clock, each gate and who records it, what makes
the case transfer, each deadline with its warnings and what happens if it is
missed, dispute ladders, post-transfer duties and the weekly meeting; then, per
seed, how many of its rules are encoded, not yet, or guidance, and every local
choice a council must confirm. `--markdown` prints instead one Markdown table
per authority (pathway, from → to, transfer trigger, key timescales) and the
coverage table, for the README.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from config import get_settings
from models.protocol import (
    Deadline,
    Duration,
    Duty,
    DutyKind,
    Gate,
    GateKind,
    Ladder,
    Outcome,
    Pathway,
    Protocol,
    RoleRef,
    Side,
)
from models.protocol_files import ProtocolFileError, load_protocol
from ops.coverage import check_registers, coverage_lines, coverage_markdown
from workflows.wording import ROLE_WORDS

INDENT = "  "
NOTICE_WORDS = {"started": "when it is proposed", "transferred": "when the case transfers",
                "allocated": "when a worker is allocated", "withdrawn": "when it is withdrawn"}


# ----- words ------------------------------------------------------------------------------


def person(ref: RoleRef, pathway: Pathway) -> str:
    """`Team Manager of sgcp`, or `Head of Service (any team)` for an authority-wide role."""
    role = ROLE_WORDS[ref.role.value]
    if ref.side is Side.authority:
        return f"{role} (any team)"
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
        return "the transfer"
    if start == "allocated":
        return "the allocation of a worker"
    return f"'{gate_title(pathway, start)}' being recorded"


def met_words(pathway: Pathway, met_when: str) -> str:
    """What meets a deadline: the transfer, the allocation, a gate, or any answer at a gate."""
    if met_when == "transferred":
        return "the case must transfer"
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
    lines = [f"- {gate.title} [{gate_id}]: {kind} recorded by {people(gate.by, pathway, 'or')}"]
    if gate.after:
        lines.append(f"{INDENT}only after: {quoted(gate_titles(pathway, gate.after))}")
    if gate.items:
        lines.append(f"{INDENT}items to confirm: {', '.join(gate.items)}")
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
            words += f" (only if these are recorded: {done})"
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
    for index, level in enumerate(ladder.levels):
        if level.allow is not None:
            lines.append(f"{INDENT}{index + 1}. the {level_people(ladder, index)}: "
                         f"{level.allow} to resolve it")
        else:
            lines.append(f"{INDENT}{index + 1}. the {level_people(ladder, index)}: told if it "
                         f"is not resolved within {ladder_total(ladder)} in all")
    return lines


def describe_pathway(pathway_id: str, pathway: Pathway, protocol: Protocol) -> list[str]:
    teams = protocol.teams
    lines = [
        f"Pathway {pathway_id}: {pathway.title}",
        f"{INDENT}{pathway.sending} ({teams[pathway.sending]}) → "
        f"{pathway.receiving} ({teams[pathway.receiving]})",
        f"{INDENT}started by {people(pathway.start_by, pathway, 'or')}; withdrawn by "
        f"{people(pathway.withdraw_by, pathway, 'or')}",
        f"{INDENT}the clock starts at: {pathway.anchor.title} [{pathway.anchor.name}]",
        f"{INDENT}gates:",
    ]
    for gate_id, gate in pathway.gates.items():
        lines += [INDENT * 2 + line for line in describe_gate(gate_id, gate, pathway, protocol)]
    lines.append(f"{INDENT}the case transfers: {transfer_words(pathway)}")
    lines.append(f"{INDENT}a worker is then allocated by "
                 f"{people(pathway.allocation.by, pathway, 'or')}")
    if pathway.deadlines:
        lines.append(f"{INDENT}deadlines:")
        for name, deadline in pathway.deadlines.items():
            lines += [INDENT * 2 + line for line in describe_deadline(name, deadline, pathway)]
    else:
        lines.append(f"{INDENT}deadlines: none")
    if pathway.after_transfer:
        lines.append(f"{INDENT}after the transfer:")
        for name, duty in pathway.after_transfer.items():
            lines += [INDENT * 2 + line for line in describe_duty(name, duty, pathway)]
    notices = [(event, refs) for event, refs in pathway.notify
               if event in NOTICE_WORDS and refs]  # not its local_choice
    if notices:
        lines.append(f"{INDENT}emails: " + "; ".join(
            f"{NOTICE_WORDS[event]}, {people(refs, pathway)}" for event, refs in notices))
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
                  f"transfers waiting for {quoted(agenda)}"]
    return lines


# ----- the Markdown table -------------------------------------------------------------------


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def trigger_cell(pathway: Pathway) -> str:
    rule = pathway.transfer
    required = ", ".join(gate_titles(pathway, rule.requires))
    if rule.when == "gates":
        return f"when recorded: {required}" if required else "at once"
    assert rule.agreed_date is not None
    default = pathway.deadlines[rule.agreed_date.default]
    words = f"on the agreed date (default: due day of '{default.title}')"
    return f"{words}, once recorded: {required}" if required else words


def titled(title: str, within: Duration | None, after: str = "") -> str:
    """A deadline's own title, with its time allowed when the title does not say it."""
    if within is None:
        return f"{title} (no timescale)"
    return title if str(within) in title else f"{title} ({within}{after})"


def timescales_cell(pathway: Pathway, protocol: Protocol) -> str:
    parts = [titled(d.title, d.within) for d in pathway.deadlines.values()]
    parts += [titled(d.title, d.within, f" after {duty_start(pathway, d)}")
              for d in pathway.after_transfer.values()]
    for ladder_name in dict.fromkeys(pathway.disputes()):
        ladder = protocol.ladders[ladder_name]
        parts.append(f"{ladder.title}: resolve within {ladder_total(ladder)}")
    return "; ".join(parts) or "none"


def markdown(protocol: Protocol) -> str:
    lines = [
        f"### {protocol.authority}: {protocol.title} (version {protocol.version})",
        "",
        "| pathway | from → to | transfer trigger | key timescales |",
        "|---|---|---|---|",
    ]
    for pathway_id, pathway in protocol.pathways.items():
        lines.append("| " + " | ".join(cell(text) for text in (
            f"`{pathway_id}`: {pathway.title}",
            f"{pathway.sending} → {pathway.receiving}",
            trigger_cell(pathway),
            timescales_cell(pathway, protocol),
        )) + " |")
    if protocol.weekly_meeting is not None:
        meeting = protocol.weekly_meeting
        lines += ["", f"Weekly {meeting.title}: {meeting.weekday.capitalize()}, papers by "
                  f"{meeting.papers_due:%H:%M}."]
    return "\n".join(lines)


# ----- checking a directory -----------------------------------------------------------------


def check(directory: Path) -> tuple[dict[Path, Protocol], dict[Path, str]]:
    """Every `*.yaml` in `directory`: the valid protocols and, for the others, the problem."""
    valid: dict[Path, Protocol] = {}
    problems: dict[Path, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            valid[path] = load_protocol(path)
        except ProtocolFileError as exc:
            problems[path] = str(exc)
        except (OSError, UnicodeDecodeError) as exc:
            problems[path] = f"{path}: cannot be read: {exc}"
    return valid, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.check_protocols",
        description="Validate every protocol file and describe each authority's pathways.")
    parser.add_argument("directory", nargs="?", type=Path, default=None,
                        help="the protocols directory (default: the configured protocols_dir)")
    parser.add_argument("--markdown", action="store_true",
                        help="print a Markdown table per authority instead of the description")
    args = parser.parse_args(argv)
    directory: Path = args.directory or get_settings().protocols_dir
    if not directory.is_dir():
        parser.error(f"{directory} is not a directory")

    valid, problems = check(directory)
    for protocol in valid.values():
        print(markdown(protocol) if args.markdown else "\n".join(describe(protocol)))
        print()
    for problem in problems.values():
        print(f"MALFORMED {problem}", file=sys.stderr)
    if not valid and not problems:
        print(f"no protocol files (*.yaml) in {directory}", file=sys.stderr)
        return 1
    registers, register_problems = check_registers(directory)
    protocols = list(valid.values())
    print(coverage_markdown(registers, protocols) if args.markdown
          else "\n".join(coverage_lines(registers, protocols)))
    print()
    for problem in register_problems:
        print(f"REGISTER {problem}", file=sys.stderr)
    summary = (f"{len(valid) + len(problems)} protocol file(s) in {directory}: "
               f"{len(valid)} valid, {len(problems)} malformed; "
               f"{len(registers)} register(s), {len(register_problems)} problem(s)")
    print(summary, file=sys.stderr if args.markdown else sys.stdout)
    return 1 if problems or register_problems else 0


if __name__ == "__main__":
    sys.exit(main())
