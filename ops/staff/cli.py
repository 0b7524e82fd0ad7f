"""`python -m ops.staff`: the staff directory from an operator's terminal.

The database is the one the settings name (DATABASE_URL). Output goes to the
operator's terminal only: nothing here is logged.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from config import Settings, get_settings
from database import make_engine
from models.protocol import Protocol
from models.protocol_files import ProtocolFileError, load_protocols
from ops.staff import directory, tokens
from ops.staff.rows import Refused, decode, field_problems, read_rows

# Tracebacks with local variables would print tokens and rows: plain ones only.
app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                  help="The staff directory: people, services, their API tokens, leavers.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens: issue, list, revoke.")
app.add_typer(token_app, name="token")


def main() -> None:
    app(prog_name="python -m ops.staff")


def _refuse(problems: list[str]) -> NoReturn:
    for problem in problems:
        typer.echo(problem, err=True)
    raise typer.Exit(1)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        _refuse([f"The settings are not valid: {error['msg']}" for error in exc.errors()])


@contextmanager
def _store() -> Iterator[Session]:
    """A session on the configured case store, or a sentence saying why there is none."""
    # The directory is the schema owner's to write: the app's role may only read it.
    url = _settings().owner_database_url
    shown = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        try:
            migrated = inspect(engine).has_table("apitoken")
        except DBAPIError as exc:
            _refuse([f"The case store at {shown} is not reachable: {exc.orig}"])
        if not migrated:
            _refuse([f"The case store at {shown} is not migrated: run `python -m ops.prepare`"])
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
            except Refused as exc:
                _refuse(exc.problems)
            except IntegrityError:
                _refuse(["The directory changed while this ran (someone else's change "
                         "came first); nothing was written. Run the command again."])
    finally:
        engine.dispose()


def _protocols() -> dict[str, Protocol]:
    try:
        return load_protocols(_settings().protocols_dir)
    except ProtocolFileError as exc:
        _refuse([str(exc)])


def _now() -> datetime:
    return datetime.now(UTC)


@app.command("import")
def import_csv(
    file: Annotated[str, typer.Argument(
        help="A CSV file with the columns id, name, email, authority, team, role, "
             "idp_subject ('-': standard input)")],
    check: Annotated[bool, typer.Option(
        "--check", help="Check the file and say what would change, writing nothing")] = False,
) -> None:
    """Add the file's staff and update those already there (matched by id).

    People not in the file are left alone: deactivate leavers with `deactivate ID`.
    The file is refused as a whole if any row is bad; nothing is written then.
    """
    source = "standard input" if file == "-" else file
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        _refuse([f"{source}: cannot be read ({exc.strerror})"])
    protocols = _protocols()
    with _store() as session:
        rows = read_rows(decode(data, source), protocols, source)
        report = directory.import_staff(session, rows, source, write=not check)
    for staff_id in report.added:
        typer.echo(f"added     {staff_id}")
    for staff_id, changes in report.changed:
        typer.echo(f"updated   {staff_id}: {'; '.join(changes)}")
    for staff_id in report.inactive:
        typer.echo(f"inactive  {staff_id}: in the file but deactivated; it stays so until "
                   f"`reactivate {staff_id}`")
    typer.echo(f"{len(rows)} rows: {len(report.added)} added, {len(report.changed)} updated, "
               f"{len(report.unchanged)} unchanged; {report.not_in_file} people in the "
               "directory are not in the file (left alone).")
    if check:
        typer.echo("--check: nothing was written.")


@app.command()
def deactivate(staff_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """A leaver: refused (403) from their next request on; their API tokens are revoked."""
    with _store() as session:
        was_active, revoked = directory.deactivate(session, staff_id, _now())
    state = "deactivated" if was_active else "was already deactivated"
    typer.echo(f"{staff_id} {state}; {revoked} token(s) revoked.")


@app.command()
def reactivate(staff_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Let someone deactivated sign in again (their old tokens stay revoked)."""
    with _store() as session:
        was_inactive = directory.reactivate(session, staff_id)
    typer.echo(f"{staff_id} {'reactivated' if was_inactive else 'was already active'}.")


@app.command("add-service")
def add_service(
    staff_id: Annotated[str, typer.Argument(metavar="ID", help="e.g. gateshead-cms")],
    authority: Annotated[str, typer.Option(help="The authority it acts for")],
    team: Annotated[str, typer.Option(help="A team, a service, or 'authority'")],
    role: Annotated[str, typer.Option(help="The role it acts in, e.g. team_manager")],
    name: Annotated[str, typer.Option(help="e.g. 'Case management system'")],
    email: Annotated[str, typer.Option(help="Where its notifications go (a team mailbox)")],
) -> None:
    """Add a system, such as the council's case management system.

    A system signs in with API tokens (`token issue`), never through the identity provider.
    """
    values = {"id": staff_id.strip(), "name": name.strip(), "email": email.strip(),
              "authority": authority.strip(), "team": team.strip(), "role": role.strip()}
    problems = field_problems(values, _protocols())
    if problems:
        _refuse([f"{'ID' if column == 'id' else '--' + column}: {why}"
                 for column, why in problems])
    with _store() as session:
        directory.add_service(session, staff_id=values["id"], authority=values["authority"],
                              team=values["team"], role=values["role"],
                              name=values["name"], email=values["email"])
    typer.echo(f"added service {values['id']}; give it a token with "
               f"`token issue {values['id']} --label ... --days N`.")


@app.command("list")
def list_staff(
    authority: Annotated[str | None, typer.Option(help="Only this authority")] = None,
) -> None:
    """The directory: ids, teams, roles, how each signs in (no secrets, no names)."""
    with _store() as session:
        listed = directory.listing(session, authority, _now())
    if not listed:
        typer.echo("The directory is empty." if authority is None
                   else f"No staff in {authority}.")
        return
    typer.echo(f"{'id':<40} {'kind':<7} {'authority':<16} {'team':<16} {'role':<26} "
               f"{'status':<8} {'idp':<4} tokens")
    for item in listed:
        s = item.staff
        status = "demo" if s.demo else ("active" if s.active else "left")
        typer.echo(f"{s.id:<40} {s.kind:<7} {s.authority:<16} {s.team:<16} {s.role:<26} "
                   f"{status:<8} {'yes' if s.idp_subject else 'no':<4} {item.live_tokens}")


@app.command("purge-demo")
def purge_demo() -> None:
    """Delete the demo staff (whose tokens are public) and their tokens.

    Production refuses to start while any is left.
    """
    with _store() as session:
        staff, removed = directory.purge_demo(session)
    typer.echo(f"Removed {staff} demo staff row(s) and {removed} token(s).")


@token_app.command("issue")
def token_issue(
    staff_id: Annotated[str, typer.Argument(metavar="ID")],
    label: Annotated[str, typer.Option(help="What it is for, e.g. 'CMS integration'")],
    days: Annotated[int, typer.Option(
        help=f"Days until it expires (1 to {tokens.MAX_DAYS})")],
) -> None:
    """Issue an API token. It is shown once, here: only its SHA-256 is kept."""
    with _store() as session:
        issued = tokens.issue(session, staff_id, label=label, days=days, now=_now())
    typer.echo(f"Token {issued.token.id} for {staff_id}, "
               f"{tokens.status(issued.token, _now())}.")
    typer.echo("Copy it now; it cannot be shown again:", err=True)
    typer.echo(issued.secret)


@token_app.command("list")
def token_list(
    staff_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
) -> None:
    """Tokens (everyone's, or one person's or system's), by handle: never the secrets."""
    now = _now()
    with _store() as session:
        found = tokens.tokens(session, staff_id)
    if not found:
        typer.echo("No tokens.")
        return
    typer.echo(f"{'handle':<52} {'id':<40} {'status':<28} label")
    for token in found:
        typer.echo(f"{token.id:<52} {token.staff_id:<40} {tokens.status(token, now):<28} "
                   f"{token.label}")


@token_app.command("revoke")
def token_revoke(handle: Annotated[str, typer.Argument(metavar="TOKEN_ID")]) -> None:
    """Revoke a token by its handle (from `token list`): refused (401) from then on."""
    with _store() as session:
        done = tokens.revoke(session, handle, _now())
    typer.echo(f"Token {handle} {'revoked' if done else 'was already revoked'}.")
