"""A pathway in plain words: what the protocol asks, step by step, with its clocks.

The words are ops.pathway_words' own, the ones `make check-protocols` prints and
docs/PATHWAYS.md is made from, so the page can never say something the docs do not. Those
words come as indented lines; here they are read back into a tree (indent = nesting, "- " =
an item) for headings and lists, without changing the function that writes them.

A protocol is not personal data, but a person sees only their own authority's: to anyone
else, as with a transfer, the pathway does not exist (404).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import get_state
from models.protocol import Pathway, Protocol
from ops.pathway_words import INDENT, describe, describe_ladder, describe_pathway
from pages.routes import _render, signed_in_or_answer

router = APIRouter(prefix="/pages/pathways", include_in_schema=False)
SECTIONS = {"gates": "Steps", "deadlines": "Clocks: deadlines, and what happens if one is "
            "missed"}


@dataclass
class Node:
    text: str
    children: list[Node] = field(default_factory=list)


@dataclass
class Section:
    heading: str
    items: list[Node]


@dataclass
class PathwayWords:
    title: str
    facts: list[Node]  # who, from where to where, when it starts, when it transfers…
    sections: list[Section]


def tree(lines: list[str]) -> list[Node]:
    """Indented lines as nodes: a line one INDENT deeper than the last belongs to it."""
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []
    for line in lines:
        if not line.strip():
            continue
        body = line.lstrip(" ")
        depth = (len(line) - len(body)) // len(INDENT)
        node = Node(body.removeprefix("- "))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((depth, node))
    return roots


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def ladders_of(pathway: Pathway) -> list[str]:
    """The dispute ladders a pathway can start: raised at large, or as a gate's answer."""
    named = [pathway.raise_dispute.ladder] if pathway.raise_dispute is not None else []
    named += [o.dispute for g in pathway.gates.values() for o in g.outcomes.values()
              if o.dispute]
    return list(dict.fromkeys(named))


def pathway_words(pathway_id: str, pathway: Pathway, protocol: Protocol) -> PathwayWords:
    head, *lines = describe_pathway(pathway_id, pathway, protocol)
    body = tree(lines)
    facts: list[Node] = []
    sections: list[Section] = []
    for node in body:
        if node.text.endswith(":") and node.children:
            name = node.text.removesuffix(":")
            sections.append(Section(SECTIONS.get(name, _sentence(name)), node.children))
        else:
            # A line may open with a team's code ("sgcp (…) → lac"): left as written.
            opens_with_code = node.text.split(" ", 1)[0] in protocol.teams
            facts.append(Node(node.text if opens_with_code else _sentence(node.text),
                              node.children))
    ladders = [n for name in ladders_of(pathway) if name in protocol.ladders
               for n in tree(describe_ladder(name, protocol.ladders[name]))]
    if ladders:
        sections.append(Section("If it is disputed: the dispute ladder", ladders))
    return PathwayWords(head.split(": ", 1)[-1], facts, sections)


@router.get("", response_model=None)
def pathways_index(request: Request) -> Response:
    state = get_state(request)
    signed = signed_in_or_answer(request, state)
    if isinstance(signed, Response):
        return signed
    session, staff = signed
    protocol = state.protocols.get(staff.authority)
    if protocol is None:
        return _render(request, "not_found.html", 404, session=session, staff=staff,
                       message=f"No protocol for {staff.authority}")
    # The protocol's first lines: its title, its working days, its teams.
    about = describe(protocol)[1:3]
    return _render(request, "pathways.html", session=session, staff=staff,
                   protocol=protocol, about=[_sentence(a.strip()) for a in about],
                   pathways=sorted(protocol.pathways.items()))


@router.get("/{authority}/{pathway_id}", response_model=None)
def pathway_page(request: Request, authority: str, pathway_id: str) -> Response:
    state = get_state(request)
    signed = signed_in_or_answer(request, state)
    if isinstance(signed, Response):
        return signed
    session, staff = signed
    protocol = state.protocols.get(staff.authority)
    pathway = protocol.pathways.get(pathway_id) if protocol else None
    if authority != staff.authority or protocol is None or pathway is None:
        return _render(request, "not_found.html", 404, session=session, staff=staff,
                       message=f"No such pathway in {staff.authority}")
    return _render(request, "pathway.html", session=session, staff=staff,
                   protocol=protocol, pathway_id=pathway_id,
                   words=pathway_words(pathway_id, pathway, protocol))
