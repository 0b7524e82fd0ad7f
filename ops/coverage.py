"""How much of each seed the protocols do, and the local choices the councils must confirm.

The registers live beside the protocols, `protocols/register/<authority>.yaml` (see
models/register.py), and the seed texts they quote in `protocols/seeds/`. Used by
`python -m ops.check_protocols`, which prints the coverage and exits 1 if a register is
malformed, names a protocol key that does not exist or quotes words the seed does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel

from models.protocol import Element, Pathway, Protocol
from models.register import Register, RegisterFileError, RuleStatus, check_register, load_register

REGISTER_DIR = "register"
SEEDS_DIR = "seeds"


@dataclass(frozen=True)
class Coverage:
    seed: str
    authority: str
    encoded: int
    not_yet: int
    guidance: int

    @property
    def operational(self) -> int:
        """Rules with something to orchestrate: encoded or not yet."""
        return self.encoded + self.not_yet

    @property
    def percent(self) -> int:
        return round(100 * self.encoded / self.operational) if self.operational else 0


def coverage(register: Register) -> Coverage:
    return Coverage(register.seed, register.authority, register.count(RuleStatus.encoded),
                    register.count(RuleStatus.not_yet), register.count(RuleStatus.guidance))


def total(rows: Iterable[Coverage]) -> Coverage:
    rows = list(rows)
    seeds = f"{len(rows)} seed{'' if len(rows) == 1 else 's'}"
    return Coverage("all", seeds, sum(r.encoded for r in rows), sum(r.not_yet for r in rows),
                    sum(r.guidance for r in rows))


# ----- reading and checking the registers ------------------------------------------------------


def check_registers(protocols_dir: Path) -> tuple[list[Register], list[str]]:
    """Every register in `protocols_dir/register/`: the usable ones and every problem found.

    A register is checked against its authority's protocol file as YAML loads it (so a key
    resolves even when the protocol fails validation, which is reported on its own) and
    against its seed text.
    """
    registers: list[Register] = []
    problems: list[str] = []
    for path in sorted((protocols_dir / REGISTER_DIR).glob("*.yaml")):
        try:
            register = load_register(path)
        except RegisterFileError as exc:
            problems.append(str(exc))
            continue
        protocol_path = protocols_dir / f"{register.authority}.yaml"
        seed_path = protocols_dir / SEEDS_DIR / register.source
        try:
            protocol = yaml.safe_load(protocol_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(f"{path}: authority: '{register.authority}' has no protocol file "
                            f"({protocol_path})")
            continue
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(f"{path}: its protocol {protocol_path} cannot be read: {exc}")
            continue
        try:
            seed_text = seed_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: source: the seed {seed_path} cannot be read: {exc}")
            continue
        problems += check_register(register, str(path), protocol, protocol_path.name, seed_text)
        registers.append(register)
    return registers, problems


# ----- local choices ---------------------------------------------------------------------------


def local_choices(model: BaseModel, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, text) of every element of a protocol that carries a `local_choice`."""
    if isinstance(model, Element) and model.local_choice and model.local_choice.strip():
        yield path or "(top level)", " ".join(model.local_choice.split())
    for name, field in type(model).model_fields.items():
        if name == "local_choice" or (isinstance(model, Pathway) and name == "ladders"):
            continue  # a pathway's ladders are the protocol's, copied in at load
        key = field.alias or name
        here = f"{path}.{key}" if path else key
        yield from _walk(getattr(model, name), here)


def _walk(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, BaseModel):
        yield from local_choices(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def grouped_choices(protocols: Iterable[Protocol]) -> list[tuple[str, str, list[str]]]:
    """(authority, text, every path carrying it): a choice shared by several pathways (one
    YAML anchor, say) is one choice for the council to confirm."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for protocol in protocols:
        for where, text in local_choices(protocol):
            grouped.setdefault((protocol.authority, text), []).append(where)
    return [(authority, text, paths) for (authority, text), paths in grouped.items()]


def _places(paths: list[str], quote: str = "") -> str:
    shown = ", ".join(f"{quote}{p}{quote}" for p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


# ----- what is printed -------------------------------------------------------------------------

HEADINGS = ("seed", "authority", "operational rules", "encoded", "not yet", "guidance",
            "% encoded")


def _cells(row: Coverage) -> tuple[str, ...]:
    return (row.seed, row.authority, str(row.operational), str(row.encoded), str(row.not_yet),
            str(row.guidance), f"{row.percent}%")


def coverage_lines(registers: Iterable[Register], protocols: Iterable[Protocol]) -> list[str]:
    """The coverage per seed as an aligned table, then every local choice to confirm."""
    registers = sorted(registers, key=lambda r: r.seed)
    rows = [coverage(r) for r in registers]
    lines = ["Register of the seeds' rules (operational rules = encoded + not yet):"]
    if rows:
        table = [HEADINGS, *(_cells(r) for r in rows), _cells(total(rows))]
        widths = [max(len(line[i]) for line in table) for i in range(len(HEADINGS))]
        for line in table:
            lines.append("  " + "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))).rstrip())
    protocols = list(protocols)
    registered = {r.authority for r in registers}
    lines += [f"  {p.authority}: no register (protocols/{REGISTER_DIR}/{p.authority}.yaml)"
              for p in protocols if p.authority not in registered]
    lines += ["", "Rules not yet encoded, and why:"]
    left = [f"  {r.seed} {r.authority}: {rule.id}: {rule.missing}" for r in registers
            for rule in r.rules if rule.status is RuleStatus.not_yet]
    lines += left or ["  none: every operational rule of every seed is encoded"]
    lines += ["", "Local choices the council must confirm (where the seed is silent or unclear):"]
    choices = grouped_choices(protocols)
    lines += [f"  {authority}: {_places(paths)}: {text}" for authority, text, paths in choices]
    if not choices:
        lines.append("  none marked (an element's `local_choice` says why the council chose)")
    return lines


def coverage_markdown(registers: Iterable[Register], protocols: Iterable[Protocol]) -> str:
    """The coverage table for the README, then the rules left and the local choices."""
    registers = sorted(registers, key=lambda r: r.seed)
    rows = [coverage(r) for r in registers]
    lines = ["### Coverage of the seeds' rules", "",
             "| " + " | ".join(HEADINGS) + " |", "|---|---|---:|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    if rows:
        lines.append("| " + " | ".join(f"**{c}**" for c in _cells(total(rows))) + " |")
    left = [f"- `{r.seed}` `{rule.id}`: {rule.missing}" for r in registers
            for rule in r.rules if rule.status is RuleStatus.not_yet]
    lines += ["", "### Rules not yet encoded, and why", ""]
    lines += left or ["None: every operational rule of every seed is encoded."]
    choices = grouped_choices(protocols)
    lines += ["", "### Local choices the council must confirm", ""]
    lines += [f"- `{authority}` {_places(paths, '`')}: {text}"
              for authority, text, paths in choices]
    if not choices:
        lines.append("None marked yet.")
    return "\n".join(lines)
