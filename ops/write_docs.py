"""Regenerate what the protocols and registers generate: docs/PATHWAYS.md, and the README's
coverage table and list of every pathway (`make docs`); tests fail when the README's are stale."""

from __future__ import annotations

import contextlib
import io

from config import ROOT
from models.protocol import Protocol
from models.protocol_files import load_protocols
from ops.check_protocols import main as check_protocols

PATHWAYS = ROOT / "docs" / "PATHWAYS.md"
README = ROOT / "README.md"
HEADER = ("# Pathways of every protocol\n\nGenerated from `protocols/*.yaml` by `make docs` "
          "(`make check-protocols ARGS=--markdown` prints the same; the checker also prints "
          "every step in plain words without `--markdown`).\n\n")
COVERAGE = "### Coverage of the seeds' rules"


def coverage_rows(markdown: str) -> list[str]:
    return [line for line in markdown.split(COVERAGE, 1)[1].splitlines()
            if line.startswith("|")]


EVERY_PATHWAY = "| authority | every pathway (steps and clocks: docs/PATHWAYS.md) |"


def pathway_rows(protocols: dict[str, Protocol]) -> list[str]:
    """One row per authority naming every pathway, in the protocol file's order."""
    return [EVERY_PATHWAY, "|---|---|", *(
        f"| `{name}` ({len(p.pathways)}) | " + ", ".join(f"`{pid}`" for pid in p.pathways) + " |"
        for name, p in sorted(protocols.items()))]


def with_table(readme: str, rows: list[str], heading: str = "| seed | authority |") -> str:
    """The README with the table whose header starts with `heading` replaced by `rows`."""
    lines = readme.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join([*lines[:start], *rows, *lines[end:]]) + "\n"


def main() -> int:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = check_protocols(["--markdown"])
    if status != 0:
        print("make check-protocols reports a problem: fix it first")
        return status
    markdown = out.getvalue()
    PATHWAYS.write_text(HEADER + markdown.rstrip() + "\n", encoding="utf-8")
    readme = with_table(README.read_text(encoding="utf-8"), coverage_rows(markdown))
    readme = with_table(readme, pathway_rows(load_protocols(ROOT / "protocols")), EVERY_PATHWAY)
    README.write_text(readme, encoding="utf-8")
    print(f"wrote {PATHWAYS.relative_to(ROOT)}, and the coverage table and every pathway in "
          f"{README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
