"""Reading protocol files, with errors that name the file, the field and the problem."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from models.protocol import Protocol


class ProtocolFileError(ValueError):
    """A protocol file that cannot be used; the message names file, field and problem."""


# A cross-field check in models/protocol.py names the field it is about first, relative to
# the model it runs on: "transfer.requires names unknown gate 'x'".
_NAMED_FIELD = re.compile(r"^([a-z_][\w-]*(?:\.[\w-]+|\[\d+\])+) (?:names )?(.+)$", re.DOTALL)


def _field_path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in location:
        # pydantic inserts validator names (e.g. 'function-before[...]') into locations
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        parts.append(f"[{part}]" if isinstance(part, int) else str(part))
    return ".".join(parts).replace(".[", "[")


def field_problem(err: ErrorDetails) -> str:
    field = _field_path(err["loc"])
    kind = err["type"]
    if kind == "value_error":
        message = err["msg"].removeprefix("Value error, ")
        named = _NAMED_FIELD.match(message)
        if named:
            field = f"{field}.{named[1]}" if field else named[1]
            message = named[2]
    elif kind == "extra_forbidden":
        message = "unknown field (not part of the protocol schema)"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = err["msg"]
        given = err.get("input")
        if isinstance(given, str | int | float | bool | date | time):
            message += f" (got {given!r})"
    return f"{field or '(top level)'}: {message}"


def load_protocol(path: Path) -> Protocol:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProtocolFileError(f"{path}: {where}not valid YAML: {problem}") from exc
    if not isinstance(raw, dict):
        raise ProtocolFileError(f"{path}: (top level): expected a mapping of protocol fields")
    try:
        protocol = Protocol.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(field_problem(err) for err in exc.errors())
        raise ProtocolFileError(f"{path}: {problems}") from exc
    if protocol.authority != path.stem:
        raise ProtocolFileError(
            f"{path}: authority: '{protocol.authority}' must match the file name '{path.stem}'"
        )
    return protocol


def load_protocols(directory: Path) -> dict[str, Protocol]:
    """Every `*.yaml` file in `directory`, keyed by authority."""
    return {p.stem: load_protocol(p) for p in sorted(directory.glob("*.yaml"))}
