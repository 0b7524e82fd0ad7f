"""The pathway page's words are the docs' words: every line ops.pathway_words writes for a
pathway (what `make check-protocols` prints and docs/PATHWAYS.md holds) is on the page,
and nothing else (the page puts the facts first, then its sections: the steps, the clocks…)."""

from __future__ import annotations

from config import Settings
from models.protocol_files import load_protocols
from ops.pathway_words import describe_ladder, describe_pathway
from pages.pathways import Node, ladders_of, pathway_words, tree


def flat(nodes: list[Node], depth: int = 0) -> list[tuple[int, str]]:
    return [row for n in nodes for row in [(depth, n.text), *flat(n.children, depth + 1)]]


def test_indented_lines_become_a_tree() -> None:
    lines = ["a:", "  - b [x]: y", "    only if", "      deeper", "  - c", "d"]
    assert flat(tree(lines)) == [(0, "a:"), (1, "b [x]: y"), (2, "only if"), (3, "deeper"),
                                 (1, "c"), (0, "d")]


def test_every_pathway_page_says_all_the_docs_say() -> None:
    for authority, protocol in load_protocols(Settings().protocols_dir).items():
        for pathway_id, pathway in protocol.pathways.items():
            words = pathway_words(pathway_id, pathway, protocol)
            lines = describe_pathway(pathway_id, pathway, protocol)
            shown = [t.lower() for n in words.facts for _, t in flat([n])]
            shown += [t.lower() for s in words.sections for _, t in flat(s.items)]
            said = [line.strip().removeprefix("- ").lower() for line in lines[1:]
                    if not (line.strip().endswith(":") and line.startswith("  ")
                            and len(line) - len(line.lstrip()) == 2)]
            for name in ladders_of(pathway):
                said += [line.strip().removeprefix("- ").lower()
                         for line in describe_ladder(name, protocol.ladders[name])]
            assert sorted(shown) == sorted(said), (authority, pathway_id)
            assert words.title == pathway.title
