"""The GOV.UK error pattern for the pages' forms: each problem beside the field it is about.

The API answers a refused request with one sentence. The pages check first what a form can
tell by itself (a required field left empty, a date that is not a date, an item marked not
applicable with no reason), all at once, so a manager corrects everything in one go; what only
the API or the workflow can judge comes back as its sentence, put beside the field it names.
A refusal that is about a rule rather than a field (another's step, a stage passed) stays a
refusal of the whole form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pages.action_forms import ActionForm, FormField

QUOTED = re.compile(r"'([a-z][a-z_]*)'")
A_DAY = re.compile(r"\b\d{1,2} [A-Z][a-z]+ \d{4}\b")
DATE_PARTS = ("day", "month", "year")


class DateProblem(Exception):
    pass


@dataclass
class Problems:
    """What is wrong with a sent form: by field (the form's field names, or `reason-<item>`
    for an item's reason), and a refusal that belongs to no field."""

    fields: dict[str, str] = field(default_factory=dict)
    refusal: str = ""

    def __bool__(self) -> bool:
        return bool(self.fields or self.refusal)


def one(sent: dict[str, list[str]], name: str) -> str:
    return (sent.get(name) or [""])[0].strip()


def parse_date(sent: dict[str, list[str]], name: str) -> date | None:
    """A GOV.UK date input's day, month and year; None when all three are empty."""
    parts = [one(sent, f"{name}-{p}") for p in DATE_PARTS]
    if not any(parts):
        return None
    if not all(p.isdigit() and len(p) <= 4 for p in parts):
        raise DateProblem("Enter the date as numbers: day, month and year")
    day, month, year = (int(p) for p in parts)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateProblem("Enter a real date, for example 27 3 2027") from exc


def the(label: str) -> str:
    """A label inside a sentence: "The date it happened" reads "the date it happened"."""
    words = re.sub(r"\s*\([^)]*\)$", "", label.strip())
    words = re.sub(r"^(the|a|an) ", "", words, flags=re.IGNORECASE)
    if words[:1].isupper() and words[1:2].islower():
        words = words[0].lower() + words[1:]
    return f"the {words}"


def _missing(f: FormField) -> str:
    if f.kind == "note":
        return "Say why, in the note"
    if f.kind in ("date", "worker"):
        return f"Enter {the(f.label)}"
    return f"Choose {the(f.label)}"


def check_action(form: ActionForm | None, sent: dict[str, list[str]],
                 date_names: tuple[str, ...]) -> Problems:
    """What a sent action form says is wrong by itself (without the form, only its dates
    and reasons: the API judges the rest)."""
    problems = Problems()
    names = [f.name for f in form.fields if f.kind == "date"] if form else list(date_names)
    for name in names:
        try:
            parse_date(sent, name)
        except DateProblem as problem:
            problems.fields[name] = str(problem)
    for item in sent.get("not_applicable", []):
        if not one(sent, f"reason-{item}"):
            problems.fields[f"reason-{item}"] = \
                f"Give the reason {item.replace('_', ' ')} is not applicable"
    for f in form.fields if form else []:
        if f.required and f.name not in problems.fields and not any(
                one(sent, n) for n in ([f"{f.name}-{p}" for p in DATE_PARTS]
                                       if f.kind == "date" else [f.name])):
            problems.fields[f.name] = _missing(f)
    return problems


def field_for(form: ActionForm | None, message: str) -> str | None:
    """The field an API sentence is about: the name it quotes or names, else the form's one
    date when it speaks of a date, its checklist or its attendees; None for a rule."""
    if form is None:
        return None
    names = [f.name for f in form.fields]
    for quoted in QUOTED.findall(message):
        if quoted in names:
            return str(quoted)
    for name in names:
        if "_" in name and re.search(rf"\b{name}\b", message):
            return name
    dates = [f.name for f in form.fields if f.kind == "date"]
    if len(dates) == 1 and (A_DAY.search(message) or " date" in message.lower()):
        return dates[0]
    lowered = message.lower()
    for kind, words in (("items", ("checklist", "not applicable", " item")),
                        ("attendees", ("attend",)), ("resolution", ("resolution",))):
        chosen = [f.name for f in form.fields if f.kind == kind]
        if chosen and any(w in lowered for w in words):
            return chosen[0]
    return None


def in_words(form: ActionForm | None, message: str) -> str:
    """The API's sentence with the protocol's names of the form's choices (checklist items,
    attendees) in the words the form shows them in: "Not confirmed: Chronology up to date"
    rather than "chronology_up_to_date". Only names with an underscore: a one-word name is
    already a word, and replacing it could change a word of the sentence itself."""
    if form is None:
        return message
    for f in form.fields:
        for choice in f.choices:
            if "_" in choice.value:
                message = re.sub(rf"\b{re.escape(choice.value)}\b", choice.label, message)
    return message


def pydantic_field(errors: list[Any]) -> str | None:
    """The form field a body's validation error is about (its location's first name)."""
    for error in errors:
        loc = error.get("loc", ())
        if len(loc) >= 2 and loc[0] == "not_applicable":
            return f"reason-{loc[1]}"
        if loc:
            return str(loc[0])
    return None


def pydantic_words(errors: list[Any]) -> str | None:
    """A manager's words for the body's checks a form can fail by typing (the API's own
    sentence names a pattern a manager cannot read); None: the API's sentence."""
    for error in errors:
        key, kind = pydantic_field([error]), error.get("type")
        limit = (error.get("ctx") or {}).get("max_length")
        if kind == "string_too_long" and key == "note":
            return f"The note must be {limit} characters or fewer"
        if kind == "string_too_long" and key and key.startswith("reason-"):
            return f"The reason must be {limit} characters or fewer"
        if kind == "string_pattern_mismatch" and key == "worker_id":
            return ("Enter the worker id as the case system has it: up to 40 letters, "
                    "digits, hyphens or underscores, never a name")
    return None


def anchor(form: ActionForm, key: str) -> str:
    """The id of the element a summary's link moves to: the field's first input."""
    if key.startswith("reason-"):
        return f"{form.action}-{key}"
    f = next((f for f in form.fields if f.name == key), None)
    base = f"{form.action}-{key}"
    if f is None:
        return base
    if f.kind == "date":
        return f"{base}-day"
    if f.kind in ("items", "attendees", "resolution") and f.choices:
        return f"{base}-{f.choices[0].value}"
    return base


def action_summary(form: ActionForm | None, problems: Problems) -> list[tuple[str, str]]:
    """(the id to link to, the message) for each field in error, in the form's order."""
    if form is None:
        return []
    order = [f.name for f in form.fields]
    keys = sorted(problems.fields, key=lambda k: (order.index(k) if k in order else
                                                  order.index("items") if "items" in order
                                                  else len(order), k))
    return [(anchor(form, k), problems.fields[k]) for k in keys]
