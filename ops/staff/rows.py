"""Reading a staff CSV: every row checked before anything is written.

A file is taken whole or not at all, so each problem is collected (with its line and
column) and the operator sees them together, rather than fixing one per run.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from models.protocol import Protocol, Role
from models.transfer import IDENTIFIER
from ops.demo import AUTHORITY_TEAM

COLUMNS = ("id", "name", "email", "authority", "team", "role", "idp_subject")
REQUIRED = ("id", "name", "email", "authority", "team", "role")
# An organisation outside the council is reached at its address, never a directory row.
STAFF_ROLES = tuple(role.value for role in Role if role is not Role.contact)
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
SUBJECT = re.compile(r"^[!-~]{1,255}$")  # printable ASCII, no spaces: what IdPs issue
MAX_NAME = 200
MAX_PROBLEMS = 50
EXTRA = "\0more"  # where the reader puts values beyond the header's columns


class Refused(Exception):
    """The input is refused as a whole; `problems` are sentences an operator can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class StaffRow:
    line: int
    id: str
    display_name: str
    email: str
    authority: str
    team: str
    role: str
    idp_subject: str | None


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as exc:
        raise Refused([f"{source}: not UTF-8 text (byte {exc.start + 1}); "
                       "save it as 'CSV UTF-8'"]) from exc


def team_choices(protocol: Protocol) -> list[str]:
    """Where a staff member of this authority may sit: a team, a service, or the authority."""
    return [*protocol.teams, *protocol.services, AUTHORITY_TEAM]


def read_rows(text: str, protocols: dict[str, Protocol], source: str) -> list[StaffRow]:
    """Every row of the file, or `Refused` naming each bad line and column."""
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=EXTRA)
    try:
        header = [name.strip().lower() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise Refused([f"{source}, line 1: not readable as CSV ({exc})"]) from exc
    problems = _header_problems(header, source)
    if problems:
        raise Refused(problems)
    reader.fieldnames = header
    rows: list[StaffRow] = []
    first_line: dict[tuple[str, str], int] = {}
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The reader cannot go on past a malformed record: report what came before too.
            problems.append(f"line {reader.reader.line_num}: not readable as CSV ({exc})")
            break
        line = reader.line_num
        if all(not (value or "").strip() for key, value in raw.items() if key in COLUMNS):
            continue  # a blank line (a spreadsheet often leaves some at the end)
        found: list[str] = []
        if EXTRA in raw:
            found.append(f"line {line}: more values than the {len(header)} columns")
        if any(raw.get(name) is None for name in header):
            found.append(f"line {line}: fewer values than the {len(header)} columns")
        if not found:
            values = {name: (raw.get(name) or "").strip() for name in COLUMNS}
            found = [f"line {line}, column {column}: {why}"
                     for column, why in field_problems(values, protocols)]
            for column in ("id", "idp_subject"):
                value = values[column]
                if not value:
                    continue
                key = (column, value.lower() if column == "id" else value)
                if key in first_line:
                    found.append(f"line {line}, column {column}: {value!r} is also on "
                                 f"line {first_line[key]}")
                else:
                    first_line[key] = line
            if not found:
                rows.append(StaffRow(
                    line=line, id=values["id"], display_name=values["name"],
                    email=values["email"], authority=values["authority"], team=values["team"],
                    role=values["role"], idp_subject=values["idp_subject"] or None))
        problems += found
    if not problems and not rows:
        problems.append(f"{source}: no staff rows under the header")
    if problems:
        raise Refused(limit([f"{source}, {p}" if p.startswith("line") else p
                             for p in problems]))
    return rows


def limit(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more"]


def _header_problems(header: list[str], source: str) -> list[str]:
    expected = ", ".join(COLUMNS)
    if not header:
        return [f"{source}: empty; the first line must name the columns: {expected}"]
    problems = []
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        problems.append(f"{source}, line 1: missing column(s) {', '.join(missing)} "
                        f"(the columns are: {expected})")
    unknown = [name or "(blank)" for name in header if name not in COLUMNS]
    if unknown:
        problems.append(f"{source}, line 1: unknown column(s) {', '.join(unknown)} "
                        f"(the columns are: {expected})")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        problems.append(f"{source}, line 1: column(s) named twice: {', '.join(repeated)}")
    if problems and len(header) == 1 and ";" in header[0]:
        problems.append(f"{source}: the values must be separated by commas, not semicolons")
    return problems


def field_problems(values: dict[str, str],
                   protocols: dict[str, Protocol]) -> list[tuple[str, str]]:
    """What is wrong with one staff member's values, as (column, why) pairs."""
    problems: list[tuple[str, str]] = []
    for column in REQUIRED:
        if not values[column]:
            problems.append((column, "empty"))
    staff_id, name, email = values["id"], values["name"], values["email"]
    if staff_id and not re.match(IDENTIFIER, staff_id):
        problems.append(("id", f"{staff_id!r} is not an id: 1 to 40 letters, digits, '-' or "
                               "'_', starting with a letter or digit"))
    if name and (len(name) > MAX_NAME or not name.isprintable()):
        problems.append(("name", f"longer than {MAX_NAME} characters or holds control "
                                 "characters"))
    if email and not EMAIL.match(email):
        problems.append(("email", "not an email address (name@council.example)"))
    authority, team, role = values["authority"], values["team"], values["role"]
    protocol = protocols.get(authority)
    if authority and protocol is None:
        problems.append(("authority", f"no protocol for {authority!r} "
                                      f"(known: {', '.join(sorted(protocols))})"))
    if protocol is not None and team and team not in team_choices(protocol):
        problems.append(("team", f"{authority} has no team or service {team!r} "
                                 f"(choose from: {', '.join(team_choices(protocol))})"))
    if role and role not in STAFF_ROLES:
        problems.append(("role", f"{role!r} is not a role "
                                 f"(choose from: {', '.join(STAFF_ROLES)})"))
    subject = values.get("idp_subject", "")
    if subject and not SUBJECT.match(subject):
        problems.append(("idp_subject", "not an identity-provider subject: up to 255 "
                                        "printable characters without spaces"))
    return problems
