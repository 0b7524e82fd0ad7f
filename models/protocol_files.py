"""Reading protocol files, with errors that name the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from models.protocol import Protocol


class ProtocolFileError(ValueError):
    """A protocol file that cannot be used; the message names file, field and problem."""


def _field_path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in location:
        # pydantic inserts validator names (e.g. 'function-before[...]') into locations
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        parts.append(f"[{part}]" if isinstance(part, int) else str(part))
    return ".".join(parts).replace(".[", "[") or "(top level)"


def load_protocol(path: Path) -> Protocol:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProtocolFileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProtocolFileError(f"{path}: (top level): expected a mapping of protocol fields")
    try:
        protocol = Protocol.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field_path(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ProtocolFileError(f"{path}: {problems}") from exc
    if protocol.authority != path.stem:
        raise ProtocolFileError(
            f"{path}: authority: '{protocol.authority}' must match the file name '{path.stem}'"
        )
    return protocol


def load_protocols(directory: Path) -> dict[str, Protocol]:
    """Every `*.yaml` file in `directory`, keyed by authority."""
    return {p.stem: load_protocol(p) for p in sorted(directory.glob("*.yaml"))}
