"""The README's tables: one row per pathway (from → to, what moves the case, key clocks)."""

from __future__ import annotations

from models.protocol import Duration, Pathway, Protocol
from ops.pathway_words import duty_start, gate_titles, ladder_total


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
            f"{pathway.sending} (closes)" if pathway.closes else
            f"{pathway.sending} → {pathway.receiving}"
            + (" (notified; the case stays)" if pathway.stays else ""),
            trigger_cell(pathway),
            timescales_cell(pathway, protocol),
        )) + " |")
    if protocol.weekly_meeting is not None:
        meeting = protocol.weekly_meeting
        lines += ["", f"Weekly {meeting.title}: {meeting.weekday.capitalize()}, papers by "
                  f"{meeting.papers_due:%H:%M}."]
    return "\n".join(lines)


