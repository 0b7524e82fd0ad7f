"""The staff directory's command line (`python -m ops.staff`) on SQLite and PostgreSQL, and
what its tokens and leavers mean to the API."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import sqlalchemy
from sqlmodel import Session, select
from temporalio.client import Client
from typer.testing import CliRunner, Result

from api.deps import AppState
from api.main import create_app
from config import ROOT, Settings, get_settings
from database import make_engine
from models.protocol_files import load_protocols
from models.tables import ApiToken, Staff
from ops.demo import demo_token, seed_demo_directory
from ops.staff.cli import app
from ops.staff.rows import Refused, read_rows

HEADER = "id,name,email,authority,team,role,idp_subject\n"
GOOD = [
    "gateshead-ann,Ann Archer,ann.archer@gateshead.example,gateshead,sgcp,team_manager,idp|ann\n",
    "gateshead-ben,Ben Baker,ben.baker@gateshead.example,gateshead,lac,social_worker,idp|ben\n",
    "gateshead-cat,Cat Cole,cat.cole@gateshead.example,gateshead,authority,head_of_service,\n",
]
Run = Callable[..., Result]


@pytest.fixture
def engine(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sqlalchemy.Engine]:
    """The store the command line is pointed at (DATABASE_URL), as the API would see it."""
    monkeypatch.setenv("DATABASE_URL", store_url)
    monkeypatch.setenv("ENVIRONMENT", "development")
    get_settings.cache_clear()
    engine = make_engine(store_url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


@pytest.fixture
def run(engine: sqlalchemy.Engine) -> Run:
    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input)
    return invoke


def csv_file(tmp_path: Path, *lines: str, name: str = "staff.csv") -> str:
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return str(path)


def everyone(engine: sqlalchemy.Engine) -> dict[str, Staff]:
    with Session(engine) as session:
        return {s.id: s for s in session.exec(select(Staff)).all()}


def secret_of(result: Result) -> str:
    assert result.exit_code == 0, result.output
    found = re.findall(r"^cft_\S+$", result.stdout, re.MULTILINE)
    assert len(found) == 1, result.stdout
    return str(found[0])


def test_a_bad_file_is_refused_whole_naming_line_and_column(run: Run, engine: Any,
                                                            tmp_path: Path) -> None:
    path = csv_file(
        tmp_path, GOOD[0],
        "gateshead-dan,Dan Dale,not-an-address,gateshead,sgcp,team_manager,\n",
        "gateshead-eve,Eve East,eve@gateshead.example,gateshead,mars,team_manager,\n",
        "gateshead-fay,Fay Fox,fay@gateshead.example,narnia,sgcp,boss,idp|ann\n",
        "GATESHEAD-ANN,Ann Again,ann2@gateshead.example,gateshead,sgcp,team_manager,\n",
        "bad id!,,gus@gateshead.example,gateshead,sgcp,team_manager,\n",
        "gateshead-hal,Hal Hay,hal@gateshead.example,gateshead,sgcp\n")
    result = run("import", path)
    assert result.exit_code == 1
    errors = result.stderr
    for expected in ["line 3, column email: not an email address",
                     "line 4, column team: gateshead has no team or service 'mars'",
                     "line 5, column authority: no protocol for 'narnia'",
                     "line 5, column role: 'boss' is not a role",
                     "line 5, column idp_subject: 'idp|ann' is also on line 2",
                     "line 6, column id: 'GATESHEAD-ANN' is also on line 2",
                     "line 7, column id: 'bad id!' is not an id",
                     "line 7, column name: empty",
                     "line 8: fewer values than the 7 columns"]:
        assert f"{path}, {expected}" in errors, errors
    assert "Traceback" not in result.output
    assert "Dan Dale" not in result.output  # names are never repeated back
    assert everyone(engine) == {}  # not even the good first row

    empty = run("import", csv_file(tmp_path, name="empty.csv"))
    assert empty.exit_code == 1 and "no staff rows under the header" in empty.stderr
    missing = run("import", str(tmp_path / "missing.csv"))
    assert missing.exit_code == 1 and "cannot be read (No such file or directory)" in missing.stderr
    (tmp_path / "cols.csv").write_text("id,name,mail\nx,y,z\n")
    columns = run("import", str(tmp_path / "cols.csv"))
    assert "line 1: missing column(s) email, authority, team, role" in columns.stderr
    assert "line 1: unknown column(s) mail" in columns.stderr
    (tmp_path / "latin1.csv").write_bytes((HEADER + "x,Zoë,z@x.example,a,b,c,\n")
                                          .encode("latin-1"))
    assert "not UTF-8 text" in run("import", str(tmp_path / "latin1.csv")).stderr


def test_import_adds_updates_and_leaves_the_rest_alone(run: Run, engine: Any,
                                                      tmp_path: Path) -> None:
    checked = run("import", csv_file(tmp_path, *GOOD), "--check")
    assert checked.exit_code == 0 and "nothing was written" in checked.stdout
    assert everyone(engine) == {}

    first = run("import", "-", input=HEADER + "".join(GOOD))  # from standard input
    assert first.exit_code == 0, first.output
    assert "3 rows: 3 added, 0 updated, 0 unchanged" in first.stdout
    rows = everyone(engine)
    assert rows["gateshead-ann"].idp_subject == "idp|ann"
    assert rows["gateshead-cat"].idp_subject is None
    assert not any(s.demo for s in rows.values())
    assert {s.kind for s in rows.values()} == {"person"}

    assert run("deactivate", "gateshead-ben").exit_code == 0
    # Ann moves to LAC and swaps identity-provider subjects with Ben; Cat is not in the file.
    moved = run("import", csv_file(
        tmp_path,
        GOOD[0].replace(",sgcp,", ",lac,").replace("idp|ann", "idp|ben"),
        GOOD[1].replace("idp|ben", "idp|ann").replace("Ben Baker", "Ben Brown")))
    assert moved.exit_code == 0, moved.output
    out = moved.stdout
    assert "updated   gateshead-ann: team sgcp -> lac; idp_subject changed" in out
    assert "updated   gateshead-ben: name changed; idp_subject changed" in out
    assert "inactive  gateshead-ben" in out and "reactivate gateshead-ben" in out
    assert "1 people in the directory are not in the file (left alone)" in out
    assert "Brown" not in out and "Ann Archer" not in out
    rows = everyone(engine)
    assert (rows["gateshead-ann"].team, rows["gateshead-ann"].idp_subject) == ("lac", "idp|ben")
    assert rows["gateshead-ben"].idp_subject == "idp|ann"
    assert not rows["gateshead-ben"].active  # an import never brings a leaver back
    assert rows["gateshead-cat"].active

    # A subject held by someone the file does not touch cannot be taken.
    taken = run("import", csv_file(tmp_path, GOOD[2].replace(",\n", ",idp|ann\n")))
    assert taken.exit_code == 1
    assert "line 2, column idp_subject: already the subject of gateshead-ben" in taken.stderr


def test_demo_rows_are_never_imported_over_and_are_purged(run: Run, engine: Any,
                                                          tmp_path: Path) -> None:
    seed_demo_directory(engine, load_protocols(ROOT / "protocols"))
    over = run("import", csv_file(
        tmp_path, "gateshead-sgcp-tm,Real Person,rp@gateshead.example,gateshead,sgcp,"
                  "team_manager,idp|rp\n"))
    assert over.exit_code == 1 and "is a demo row" in over.stderr and "purge-demo" in over.stderr
    assert run("import", csv_file(tmp_path, GOOD[0])).exit_code == 0

    purged = run("purge-demo")
    assert purged.exit_code == 0, purged.output
    assert set(everyone(engine)) == {"gateshead-ann"}
    with Session(engine) as session:
        assert session.exec(select(ApiToken)).all() == []
    assert "Removed" in purged.stdout


@pytest.fixture
async def api(engine: sqlalchemy.Engine) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings()
    # GET /transfers reads the case store only; no request here reaches Temporal.
    state = AppState(settings=settings, engine=engine, temporal=cast(Client, None),
                     protocols=load_protocols(settings.protocols_dir))
    app = create_app(state)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def trays(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.get("/transfers", headers={"Authorization": f"Bearer {token}"})


async def test_an_issued_token_signs_in_until_revoked_or_expired(
        run: Run, api: httpx.AsyncClient, engine: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    refused = run("add-service", "gateshead-cms", "--authority", "gateshead", "--team", "sgcp",
                  "--role", "boss", "--name", "Case management system",
                  "--email", "cms@gateshead.example")
    assert refused.exit_code == 1 and "--role: 'boss' is not a role" in refused.stderr
    added = run("add-service", "gateshead-cms", "--authority", "gateshead", "--team", "sgcp",
                "--role", "team_manager", "--name", "Case management system",
                "--email", "cms@gateshead.example")
    assert added.exit_code == 0, added.output
    service = everyone(engine)["gateshead-cms"]
    assert (service.kind, service.idp_subject, service.demo) == ("service", None, False)

    too_long = run("token", "issue", "gateshead-cms", "--label", "CMS", "--days", "367")
    assert too_long.exit_code == 1 and "--days: 367 is not between 1 and 366" in too_long.stderr
    secret = secret_of(run("token", "issue", "gateshead-cms", "--label", "CMS", "--days", "30"))
    assert secret.startswith("cft_") and len(secret) > 40
    with Session(engine) as session:
        stored = session.exec(select(ApiToken)).one()
    assert stored.sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.expires_at is not None

    ok = await trays(api, secret)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"data": [], "count": 0}

    listed = run("token", "list", "gateshead-cms")
    assert listed.exit_code == 0 and stored.id in listed.stdout and "expires" in listed.stdout
    assert secret not in listed.output and stored.sha256 not in listed.output

    assert run("token", "revoke", stored.id).exit_code == 0
    revoked = await trays(api, secret)
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "That token has been revoked; ask for a new one"
    assert "revoked" in run("token", "list").stdout
    assert "already revoked" in run("token", "revoke", stored.id).stdout
    assert run("token", "revoke", "tok-nothing").exit_code == 1

    # Issued two days ago for one day: expired.
    monkeypatch.setattr("ops.staff.cli._now", lambda: datetime.now(UTC) - timedelta(days=2))
    old = secret_of(run("token", "issue", "gateshead-cms", "--label", "old", "--days", "1"))
    expired = await trays(api, old)
    assert expired.status_code == 401
    assert expired.json()["detail"] == "That token has expired; ask for a new one"
    assert (await trays(api, "cft_made-up")).status_code == 401


async def test_a_leaver_is_refused_at_once(run: Run, api: httpx.AsyncClient, engine: Any,
                                           tmp_path: Path) -> None:
    assert run("import", csv_file(tmp_path, *GOOD)).exit_code == 0
    secret = secret_of(run("token", "issue", "gateshead-ann", "--label", "laptop",
                           "--days", "7"))
    assert (await trays(api, secret)).status_code == 200

    left = run("deactivate", "gateshead-ann")
    assert left.exit_code == 0 and "1 token(s) revoked" in left.stdout
    refused = await trays(api, secret)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "gateshead-ann has been deactivated in the staff directory"
    with Session(engine) as session:
        token = session.exec(select(ApiToken)).one()
    assert token.revoked_at is not None
    assert "left" in run("list").stdout
    again = run("token", "issue", "gateshead-ann", "--label", "x", "--days", "1")
    assert again.exit_code == 1 and "has been deactivated" in again.stderr

    assert "reactivated" in run("reactivate", "gateshead-ann").stdout
    # Back, but the old token stays revoked: they are given a new one.
    assert (await trays(api, secret)).status_code == 401
    fresh = secret_of(run("token", "issue", "gateshead-ann", "--label", "laptop",
                          "--days", "7"))
    assert (await trays(api, fresh)).status_code == 200
    assert run("deactivate", "nobody").stderr.strip() == "nobody is not in the directory"


def test_list_shows_the_directory_without_secrets_or_names(run: Run, engine: Any,
                                                          tmp_path: Path) -> None:
    assert run("list").stdout.strip() == "The directory is empty."
    seed_demo_directory(engine, load_protocols(ROOT / "protocols"))
    assert run("import", csv_file(tmp_path, *GOOD)).exit_code == 0
    listed = run("list", "--authority", "gateshead")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    ann = next(line for line in lines if line.startswith("gateshead-ann "))
    assert ann.split() == ["gateshead-ann", "person", "gateshead", "sgcp", "team_manager",
                           "active", "yes", "0"]
    demo = next(line for line in lines if line.startswith("gateshead-sgcp-tm "))
    assert demo.split()[5:] == ["demo", "yes", "1"]
    assert demo_token("gateshead-sgcp-tm") not in listed.output
    assert "Ann Archer" not in listed.output
    assert not any(line.startswith("nottingham-") for line in lines)


def test_an_unmigrated_or_unreachable_store_is_said_plainly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["list"])
        assert result.exit_code == 1
        assert "is not migrated: run `python -m ops.prepare`" in result.stderr
        monkeypatch.setenv("DATABASE_URL", "postgresql://caseflow:s3cret@127.0.0.1:1/nowhere")
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["list"])
        assert result.exit_code == 1 and "is not reachable" in result.stderr
        assert "s3cret" not in result.output and "Traceback" not in result.output
    finally:
        get_settings.cache_clear()


def test_files_that_are_not_comma_separated_csv_are_said_plainly() -> None:
    protocols = load_protocols(ROOT / "protocols")
    with pytest.raises(Refused) as semicolons:
        read_rows(HEADER.replace(",", ";") + "a;b;c;d;e;f;g\n", protocols, "s.csv")
    assert "s.csv: the values must be separated by commas, not semicolons" in \
        semicolons.value.problems
    huge = HEADER + GOOD[0] + "gateshead-x," + "y" * 200_000 + ",z,gateshead,sgcp,iro,\n"
    with pytest.raises(Refused) as unreadable:
        read_rows(huge, protocols, "h.csv")
    assert unreadable.value.problems == [
        "h.csv, line 3: not readable as CSV (field larger than field limit (131072))"]
