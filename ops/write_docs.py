"""Regenerate what the protocols and registers generate: docs/PATHWAYS.md and the README's
coverage table (`make docs`); `tests/test_register.py` fails when the README's is stale."""

from __future__ import annotations

import contextlib
import io

from config import ROOT
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


def with_table(readme: str, rows: list[str]) -> str:
    """The README with its coverage table (the one headed `| seed | authority |`) replaced."""
    lines = readme.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| seed | authority |"))
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
    README.write_text(with_table(README.read_text(encoding="utf-8"), coverage_rows(markdown)),
                      encoding="utf-8")
    print(f"wrote {PATHWAYS.relative_to(ROOT)} and the coverage table in "
          f"{README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
