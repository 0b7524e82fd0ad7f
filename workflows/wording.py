"""Plain words for people: UI details, event summaries and email texts.

Everything here is built from identifiers, roles, team codes and times only,
so none of it can carry a child's personal details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from models.protocol import RoleRef, Side
from models.transfer import Actor, DeadlineStatus, Notice, Stage, TransferView

ROLE_WORDS = {
    "social_worker": "social worker",
    "team_manager": "Team Manager",
    "service_manager": "Service Manager",
    "head_of_service": "Head of Service",
    "director": "Director",
    "senior_assistant_director": "Senior Assistant Director",
    "iro": "IRO",
    "senior_practitioner": "Senior Practitioner",
    "advanced_practitioner": "Advanced Practitioner",
    "personal_advisor": "Personal Advisor",
    "legal_services": "Legal Services",
    "designated_administrator": "Designated Administrator",
    "business_support": "Business Support",
    "chair": "Chair",
    "contact": "contact address",
}


def role_words(refs: Sequence[RoleRef], from_team: str, to_team: str,
               parties: Mapping[str, str] | None = None) -> str:
    """`Team Manager of sgcp or Team Manager of lac`; a party by its team once named."""
    teams = {Side.sending: f"of {from_team}", Side.receiving: f"of {to_team}",
             Side.authority: "(any team)"}

    def where(ref: RoleRef) -> str:
        if ref.side is Side.party:
            assert ref.party is not None
            return f"of {(parties or {}).get(ref.party, ref.party)}"
        return teams[ref.side]

    return " or ".join(f"{ROLE_WORDS[r.role.value]} {where(r)}" for r in refs)


def in_sentence(title: str) -> str:
    """A protocol's title inside a sentence: "The other local authority" reads "the other
    local authority" after "for"; a name ("CAFCASS", "Adult Social Care") stays as it is."""
    return "the " + title[4:] if title.startswith("The ") else title


def actor_words(actor: Actor | None) -> str:
    return "the system" if actor is None else (
        f"{actor.staff_id} ({ROLE_WORDS[actor.role.value]}, {actor.team})"
    )


def current_details(view: TransferView) -> str:
    """Markdown for the Temporal UI: what the transfer waits for, and by when."""
    lines = [
        f"**Stage:** {view.stage.value} · **responsible team:** {view.responsible_team}",
        f"**Case:** {view.case_id} · {view.from_team} → {view.to_team} ({view.pathway})",
        "",
    ]
    if view.waiting_for:
        lines.append("**Waiting for:**")
        lines += [f"- {item}" for item in view.waiting_for]
    else:
        lines.append("**Waiting for:** nothing")
    upcoming = view.next_deadline
    if upcoming is not None:
        lines += ["", f"**Next deadline:** {upcoming.title}: {upcoming.due_local}"]
    missed = [d for d in view.deadlines if d.status is DeadlineStatus.missed]
    if missed:
        lines += ["", "**Overdue:** " + "; ".join(f"{d.title} (was due {d.due_local})"
                                                 for d in missed)]
    return "\n".join(lines)


def notice(view: TransferView, to: list[RoleRef], headline: str, detail: str = "") -> Notice:
    subject = f"[{view.authority}] Case {view.case_id}: {headline}"
    body = "\n".join(
        line for line in [
            headline[:1].upper() + headline[1:] + ".",
            detail,
            "",
            f"Transfer: {view.transfer_id} ({view.pathway}, {view.from_team} → {view.to_team})",
            f"Case: {view.case_id}; children: {', '.join(view.children)}",
            f"Stage: {view.stage.value}; responsible team: {view.responsible_team}",
            *(f"Waiting for: {item}" for item in view.waiting_for),
            "",
            f"Details and actions: GET /transfers/{view.transfer_id}",
        ] if line is not None
    )
    return Notice(to=to, subject=subject, body=body)


STAGE_WORDS = {
    Stage.proposed: "proposed",
    Stage.ready: "ready to transfer",
    Stage.transferred: "transferred",
    Stage.allocated: "allocated",
    Stage.closed: "closed",
    Stage.withdrawn: "withdrawn",
}
