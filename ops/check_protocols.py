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
from models.external_addresses import load_external_addresses
from models.protocol import Protocol
from models.protocol_files import ProtocolFileError, load_protocol
from ops.coverage import check_registers, coverage_lines, coverage_markdown
from ops.pathway_tables import markdown
from ops.pathway_words import describe

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


def unaddressed(protocols: Sequence[Protocol], path: Path) -> list[str]:
    """The external parties the deployment's address list does not reach (a warning: the
    notice is logged and not sent; a start naming an unknown organisation is refused)."""
    addresses = load_external_addresses(path)
    lines = []
    for protocol in protocols:
        for name, external in protocol.externals.items():
            if external.chosen_at_start:
                if not addresses.organisations(protocol.authority, name):
                    lines.append(f"ADDRESS {path}: {protocol.authority}.{name}: no organisation "
                                 f"listed for {external.title}; no transfer can name one")
            elif addresses.address(protocol.authority, name, None) is None:
                lines.append(f"ADDRESS {path}: {protocol.authority}.{name}: no address for "
                             f"{external.title}; its notices are not sent")
    return lines


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
    for line in unaddressed(protocols, get_settings().external_addresses_file):
        print(line, file=sys.stderr)
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
