"""The register of a seed's rules: what each rule of the procedure says, and where (or whether)
the authority's protocol does it.

One file per seed, `protocols/register/<authority>.yaml`:

    seed: "000"
    authority: gateshead
    source: 000_7359d951385917e8.txt        # the seed file, in protocols/seeds/
    rules:
      - id: lac-transfer-10-working-days
        section: Protocol for the transfer of cases to the LAC Team from SGCP Teams
        quote: A transfer must occur within 10 working days following the TM's discussion.
        status: encoded                        # encoded | guidance | not_yet
        keys: [pathways.sgcp-to-lac.deadlines.transfer_by]

`encoded` names the protocol keys that do the rule (dotted paths into the YAML as loaded,
merge keys resolved, list items as `[n]`); `guidance` says `why` there is nothing to
orchestrate; `not_yet` says what is `missing` (and may name the keys of a partial encoding).
A rule's `quote` is the seed's own words, short; it must appear in the seed verbatim once
whitespace, HTML and Markdown markup and typographic quotes and dashes are set aside.
"""

from __future__ import annotations

import html
import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

RULE_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# `pathways.sgcp-to-lac.gates.accepted`, `ladders.dispute.levels[1]`, `weekly_meeting`
KEY_PATH = r"^[A-Za-z_][\w-]*(?:\[\d+\])*(?:\.[A-Za-z_][\w-]*(?:\[\d+\])*)*$"
QUOTE_MAX = 240


class RegisterFileError(ValueError):
    """A register file that cannot be used; the message names file, rule and field."""


class RuleStatus(StrEnum):
    encoded = "encoded"  # the protocol does it: `keys` name where
    guidance = "guidance"  # nothing to orchestrate: `why`
    not_yet = "not_yet"  # something to orchestrate that the protocol does not do (right)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    id: str = Field(pattern=RULE_ID)
    section: str = Field(min_length=1)
    quote: str = Field(min_length=8, max_length=QUOTE_MAX)
    status: RuleStatus
    keys: list[str] = []
    why: str | None = None
    missing: str | None = None
    note: str | None = None  # anything else a reader needs (e.g. a local reading)

    @model_validator(mode="after")
    def _status_is_explained(self) -> Rule:
        bad = [k for k in self.keys if not re.match(KEY_PATH, k)]
        if bad:
            raise ValueError(f"keys '{bad[0]}' is not a dotted path such as "
                             "pathways.sgcp-to-lac.deadlines.transfer_by or ladders.x.levels[1]")
        if self.status is RuleStatus.encoded:
            if not self.keys:
                raise ValueError("keys is required for an encoded rule: name the protocol "
                                 "keys that do it")
            if self.why or self.missing:
                raise ValueError("status encoded takes no 'why' or 'missing'")
        elif self.status is RuleStatus.guidance:
            if not (self.why or "").strip():
                raise ValueError("why is required for a guidance rule: say why there is "
                                 "nothing to orchestrate")
            if self.keys or self.missing:
                raise ValueError("status guidance takes no 'keys' or 'missing'")
        else:
            if not (self.missing or "").strip():
                raise ValueError("missing is required for a not_yet rule: say which part is "
                                 "missing or wrong")
            if self.why:
                raise ValueError("status not_yet takes no 'why'")
        return self


class Register(_Strict):
    seed: str = Field(pattern=r"^\d{3}$")
    authority: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: str = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique(self) -> Register:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rules: the id '{rule.id}' is used twice")
            seen.add(rule.id)
        return self

    def count(self, status: RuleStatus) -> int:
        return sum(rule.status is status for rule in self.rules)


# ----- reading a register file ----------------------------------------------------------------


def _where(loc: tuple[int | str, ...], raw: object) -> str:
    """`rules[3] (lac-transfer-10-working-days).keys[0]`: the rule's id helps find it."""
    out = ""
    node: object = raw
    for part in loc:
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue  # pydantic's validator names
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str) and out.endswith(
                    f"rules[{part}]"):
                out += f" ({node['id']})"
        else:
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _problem(err: ErrorDetails, raw: object) -> str:
    where = _where(err["loc"], raw)
    kind = err["type"]
    if kind == "extra_forbidden":
        message = "unknown field (a rule has id, section, quote, status, keys, why, missing, note)"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = err["msg"].removeprefix("Value error, ")
        field, sep, rest = message.partition(" ")
        if kind == "value_error" and sep and field.rstrip(":") in Rule.model_fields | {
                "rules": None}:
            # a check names the field it is about first: "why is required ..."
            field = field.rstrip(":")
            where = f"{where}.{field}" if where else field
            message = rest
        given = err.get("input")
        if kind != "value_error" and isinstance(given, str | int | float | bool):
            message += f" (got {given!r})"
    return f"{where or '(top level)'}: {message}"


def load_register(path: Path) -> Register:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RegisterFileError(f"{path}: {where}not valid YAML: "
                                f"{getattr(exc, 'problem', None) or exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RegisterFileError(f"{path}: cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise RegisterFileError(f"{path}: (top level): expected a mapping with seed, authority, "
                                "source and rules")
    try:
        register = Register.model_validate(raw)
    except ValidationError as exc:
        raise RegisterFileError(
            f"{path}: " + "; ".join(_problem(e, raw) for e in exc.errors())) from exc
    if register.authority != path.stem:
        raise RegisterFileError(f"{path}: authority: '{register.authority}' must match the file "
                                f"name '{path.stem}'")
    return register


# ----- checking it against the protocol and the seed ------------------------------------------

_SEGMENT = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


def resolve(data: object, key: str) -> str | None:
    """None if `key` names something in `data` (YAML as loaded), else what is not there."""
    node = data
    walked = ""
    for segment in key.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            return f"'{segment}' is not a key"
        name, indexes = match.groups()
        if not isinstance(node, dict) or name not in node:
            return f"no '{name}' under '{walked or '(top level)'}'"
        node = node[name]
        walked = f"{walked}.{name}" if walked else name
        for index in re.findall(r"\[(\d+)\]", indexes):
            if not isinstance(node, list) or int(index) >= len(node):
                return f"no item [{index}] in '{walked}'"
            node = node[int(index)]
            walked += f"[{index}]"
    return None


_INLINE_TAG = re.compile(r"</?(?:b|i|u|em|strong|sup|sub|span|a|font)(?:\s[^>]*)?>",
                         re.IGNORECASE)  # inside a word: 18<sup>th</sup>
_TAG = re.compile(r"<[^>]*>")  # a block (<p>, <br> ...): the words either side stay apart
_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                             "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2032": "'",
                             "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-",
                             "\u00a0": " ", "\u2009": " ", "\u202f": " "})


def normalise(text: str) -> str:
    """The words alone: no HTML tags or entities, no Markdown emphasis or escapes, straight
    quotes and hyphens for typographic ones, single spaces."""
    text = html.unescape(_TAG.sub(" ", _INLINE_TAG.sub("", text)))
    text = text.replace("\\", "").replace("*", "").translate(_TYPOGRAPHY)
    return " ".join(text.split())


def check_register(register: Register, where: str, protocol: Any, protocol_name: str,
                   seed_text: str) -> list[str]:
    """Every problem with a valid register: keys that do not resolve, quotes not in the seed."""
    problems: list[str] = []
    seed = normalise(seed_text)
    for index, rule in enumerate(register.rules):
        at = f"{where}: rules[{index}] ({rule.id})"
        for number, key in enumerate(rule.keys):
            missing = resolve(protocol, key)
            if missing is not None:
                problems.append(f"{at}.keys[{number}]: '{key}' is not in {protocol_name} "
                                f"({missing}); a rule marked {rule.status.value} must name "
                                "keys that exist")
        if normalise(rule.quote) not in seed:
            problems.append(f"{at}.quote: not found verbatim in the seed "
                            f"{register.source}: '{rule.quote}'")
    return problems
