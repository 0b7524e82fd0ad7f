"""Print the project's runtime requirements (pyproject.toml [project].dependencies), one a line.

Used by the Dockerfile so the dependencies install in their own cached layer, from
pyproject.toml alone, before the code is copied. Names given after the file are left
out (normalised as PEP 503 does): the image leaves out tools that only `make dev`
uses on a workstation.

    python runtime_requirements.py pyproject.toml [NAME ...] > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        dependencies: list[str] = tomllib.load(f)["project"]["dependencies"]
    leave_out = {normalise(name) for name in argv[2:]}
    unknown = set(leave_out)
    for requirement in dependencies:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if match is None:
            print(f"cannot read requirement {requirement!r}", file=sys.stderr)
            return 1
        name = normalise(match.group(1))
        unknown.discard(name)
        if name not in leave_out:
            print(requirement.strip())
    if unknown:
        # Already gone from the dependencies (moved to an extra, say): nothing to leave out.
        print(f"note: not among the dependencies: {', '.join(sorted(unknown))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
