"""Figure 5: work trays on PostgreSQL.

A fresh PostgreSQL database (created on 127.0.0.1:5432 and dropped afterwards) is
migrated and seeded as `make dev` does, then filled, in bulk (COPY), with R
transfers' current rows whose `view` is the JSON the workflow writes: a Gateshead
transfer on any of Gateshead's pathways, with its gates and deadlines, in a mix of
stages, about a fifth of the open ones overdue, and the teams each involves (as the
case store writes them, for the need-to-know filter). Measured, one request at a time:
`GET /transfers?team=sgcp&overdue=true` as the SGCP Team Manager (SGCP is in most
of Gateshead's pathways: the fullest tray; the tray is also limited to what SGCP
needs to know, as for any team's staff) (p50 / p95 / p99),
against the very statements the API's query issues (the first page and the count,
captured from `api.store_queries.list_transfers`) run directly on PostgreSQL with
psycopg: the database's share of the round trip.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from psycopg import sql
from sqlmodel import Session

from api import store_queries
from api.need_to_know import pathways_naming, scope_of
from bench import pages, profile
from bench.common import bench_stack, latency_summary, log, ratio
from bench.drive import AUTHORITY, SGCP_TM, api_client
from config import ROOT
from database import make_engine
from models.protocol_files import load_protocols
from models.report_facts import facts_of_json
from models.transfer import DeadlineView, GateView, Stage, TransferView

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEAM = "sgcp"  # in most of Gateshead's pathways: the fullest tray
WARMUP = 20
DAYS = 120  # the transfers' starts spread over this many days before now
STAGES = [(Stage.proposed, 30), (Stage.ready, 10), (Stage.transferred, 10),
          (Stage.allocated, 15), (Stage.closed, 25), (Stage.withdrawn, 5), (Stage.disputed, 5)]
OPEN = {Stage.proposed, Stage.ready, Stage.transferred, Stage.disputed}
COLUMNS = ["run_id", "transfer_id", "case_id", "authority", "pathway", "stage", "from_team",
           "to_team", "responsible_team", "next_deadline_at", "overdue", "started_at",
           "updated_at", "seq", "view", "anchor_at", "transferred_at", "breached",
           "transfer_late"]  # the last four: the report's facts, as the case store writes


def _reader() -> dict[str, Any]:
    """The need-to-know arguments the API passes to the tray query for the SGCP Team
    Manager (api/routes/transfers.list_transfers)."""
    protocol = load_protocols(ROOT / "protocols")[AUTHORITY]
    reader = scope_of(AUTHORITY, "team_manager", TEAM, protocol)
    return {"readable_by": reader.teams, "named_on": pathways_naming(protocol, reader)}


def tray_statements(url: str) -> list[tuple[str, Any]]:
    """The statements the API's tray query issues (count and page), as PostgreSQL gets them:
    captured from `api.store_queries.list_transfers` itself, so the bare side runs exactly
    the API's SQL whatever it becomes."""
    engine = make_engine(url)
    issued: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        issued.append((statement, parameters))

    sqlalchemy.event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            # offset 0 and a full first page, as the API's tray request: page and count
            store_queries.list_transfers(session, authority=AUTHORITY, team=TEAM, stage=None,
                                         overdue=True, now=datetime.now(UTC), limit=50,
                                         offset=0, **_reader())
    finally:
        engine.dispose()
    return issued


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)


def create_database() -> tuple[str, str]:
    name = f"caseflow_bench_{secrets.token_hex(5)}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _templates() -> list[dict[str, Any]]:
    """One view per Gateshead pathway, as the workflow writes it (model_dump, JSON mode)."""
    protocol = load_protocols(ROOT / "protocols")[AUTHORITY]
    now = datetime.now(UTC)
    views = []
    for pid, pathway in protocol.pathways.items():
        deadlines = [DeadlineView(id=name, title=d.title, due_at=now, due_local="Wed 6 Jan "
                                  "2027 17:00 GMT", met_when=d.met_when, start_at=now)
                     for name, d in pathway.deadlines.items()]
        if pathway.transfer.agreed_date is not None:
            deadlines.append(DeadlineView(id="transfer_date", title="Agreed transfer date",
                                          kind="transfer_date", due_at=now,
                                          due_local="Wed 6 Jan 2027 17:00 GMT",
                                          met_when="transferred"))
        view = TransferView(
            transfer_id="t", run_id="r", case_id="c", children=["c"], authority=AUTHORITY,
            pathway=pid, protocol_version=protocol.version, stage=Stage.proposed,
            from_team=pathway.sending, to_team=pathway.receiving,
            responsible_team=pathway.sending, anchor=pathway.anchor.name, anchor_at=now,
            gates=[GateView(id=g, title=spec.title, action=pathway.gate_action(g))
                   for g, spec in pathway.gates.items()],
            deadlines=deadlines,
            waiting_for=[f"{spec.title} (Team Manager of {pathway.sending})"
                         for spec in pathway.gates.values()],
            seq=3)
        views.append(view.model_dump(mode="json"))
    return views


def _rows(count: int, seed: int = 4) -> Any:
    rnd = random.Random(seed)
    templates = _templates()
    stages = [s for s, w in STAGES for _ in range(w)]
    now = datetime.now(UTC)
    for i in range(count):
        view = json.loads(json.dumps(templates[i % len(templates)]))
        stage = rnd.choice(stages)
        case = f"C{i:07d}"
        run_id = f"{i:08x}-bench-{secrets.token_hex(8)}"
        started = now - timedelta(days=rnd.uniform(0, DAYS))
        is_open = stage in OPEN
        overdue = is_open and rnd.random() < 0.2
        due = (now - timedelta(days=rnd.uniform(0.1, 10))) if overdue else (
            now + timedelta(days=rnd.uniform(0.1, 30)))
        responsible = view["to_team"] if stage in (Stage.transferred, Stage.allocated,
                                                   Stage.closed) else view["from_team"]
        pending = []
        for n, d in enumerate(view["deadlines"]):
            d["start_at"] = started.isoformat()
            if overdue and n == 0:  # the first deadline was missed; the others still run
                d["due_at"], d["status"] = due.isoformat(), "missed"
            else:
                later = due + timedelta(days=n + 1) if overdue else due + timedelta(days=n)
                d["due_at"], d["status"] = later.isoformat(), "pending" if is_open else "met"
                if is_open:
                    pending.append(d)
        upcoming = pending[0] if pending else None
        view.update(transfer_id=f"transfer-{AUTHORITY}-{case}", run_id=run_id, case_id=case,
                    children=[case], stage=stage.value, responsible_team=responsible,
                    anchor_at=started.isoformat(), overdue=overdue, next_deadline=upcoming)
        fact = facts_of_json(view)
        yield (run_id, view["transfer_id"], case, AUTHORITY, view["pathway"], stage.value,
               view["from_team"], view["to_team"], responsible,
               upcoming["due_at"] if upcoming else None, overdue, started,
               now, 3, json.dumps(view), fact["anchor_at"], fact["transferred_at"],
               fact["breached"], fact["transfer_late"])


def fill(url: str, count: int) -> dict[str, Any]:
    started = time.perf_counter()
    teams: set[tuple[str, str, str]] = set()
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur, cur.copy(
                sql.SQL("COPY transfer ({}) FROM STDIN").format(
                    sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))) as copy:
            for row in _rows(count):
                copy.write_row(row)
                # authority, from, to (the responsible team is one of them), transfer id
                teams.update((row[3], team, row[1]) for team in (row[6], row[7]))
        with conn.cursor() as cur, cur.copy(
                "COPY transferteam (authority, team, transfer_id) FROM STDIN") as copy:
            for team_row in sorted(teams):
                copy.write_row(team_row)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE transfer")
        conn.execute("ANALYZE transferteam")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    statements = tray_statements(url)
    plans: list[list[str]] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for statement, params in statements:
            plans.append([line[0] for line in conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, params).fetchall()])
        with Session(engine := make_engine(url)) as session:
            _, matching = store_queries.list_transfers(
                session, authority=AUTHORITY, team=TEAM, stage=None, overdue=True,
                now=datetime.now(UTC), limit=1, offset=0, **_reader())
        engine.dispose()
    return {"rows": count, "fill_s": round(time.perf_counter() - started, 1),
            "database_bytes": size[0] if size else None,
            "database_bytes_per_transfer": round(size[0] / count) if size else None,
            "matching_rows": matching,
            "page_plan": plans[0] if plans else [],
            "count_plan": plans[1] if len(plans) > 1 else []}


async def measure_project(http: Any, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    for i in range(WARMUP + requests):
        t0 = time.perf_counter()
        response = await http.get("/transfers", params={"team": TEAM, "overdue": "true"},
                                  headers={"Authorization": f"Bearer {SGCP_TM}"})
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            errors += 1
        elif i >= WARMUP:
            latencies.append(elapsed)
    return {"side": "project", "requests": requests, "errors": errors,
            "latency": latency_summary(latencies)}


def measure_bare(url: str, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    statements = tray_statements(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(WARMUP + requests):
            t0 = time.perf_counter()
            for statement, params in statements:
                conn.execute(statement, params).fetchall()
            if i >= WARMUP:
                latencies.append(time.perf_counter() - t0)
    return {"side": "bare", "requests": requests, "errors": 0,
            "latency": latency_summary(latencies)}


async def run(rows: int, reps: int, requests: int, spy: str | None = None) -> dict[str, Any]:
    name, url = create_database()
    try:
        async with bench_stack("trays", database_url=url, bare=False, worker=False) as bs:
            filled = await asyncio.to_thread(fill, url, rows)
            log(f"  fig5 {rows} rows in {filled['fill_s']} s; "
                f"{filled['matching_rows']} match team={TEAM}&overdue=true")
            runs: list[dict[str, Any]] = []
            async with api_client(bs.stack.api_url, connections=1) as http:
                for _ in range(reps):
                    runs.append(await asyncio.to_thread(measure_bare, url, requests))
                    runs.append(await measure_project(http, requests))
                    b, p = runs[-2]["latency"], runs[-1]["latency"]
                    log(f"  fig5 p95: bare SQL {b['p95_ms']:.1f} ms, API {p['p95_ms']:.1f} ms "
                        f"(x{ratio(p['p95_ms'], b['p95_ms'])})")
                page = await pages.measure_tray_page(http, requests)
                timeliness = await pages.measure_report(http, DAYS)
                report_page = await pages.measure_report_page(http, DAYS)
                prof = await _profiled(bs, http, requests, spy) if spy else None
    finally:
        await asyncio.to_thread(drop_database, name)
    return {"figure": "trays", "rows": rows, "team": TEAM, "repetitions": reps,
            "requests": requests, "store": filled, "runs": runs, "profile": prof,
            "tray_page": page, "report": timeliness,
            "report_page": report_page}


TRAY_GROUPS: list[tuple[str, str]] = [
    ("the route (list_transfers)", "list_transfers (api/routes/transfers.py"),
    ("  TransferView.model_validate of each row's view", "BaseModel.model_validate"),
    ("  the store query (count + page, SQLAlchemy)", "list_transfers (api/store_queries.py"),
    ("    JSON parsing of the view column", "loads (json/__init__.py"),
    ("response serialisation", "serialize_response"),
    ("token lookup (token_holder)", "token_holder"),
]


async def _profiled(bs: Any, http: Any, requests: int, spy: str) -> dict[str, Any]:
    """One more project measurement with py-spy on the API (not counted in the figure)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-trays-profile-"))
    raw = folder / "api.raw"
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(bs.stack.pid("api")), "--gil", "--rate",
         str(profile.RATE_HZ), "--format", "raw", "--nonblocking", "-o", str(raw)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    await asyncio.sleep(1.0)
    started = time.perf_counter()
    measured = await measure_project(http, requests)
    wall = time.perf_counter() - started
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    found = profile.analyse(raw, TRAY_GROUPS) if raw.exists() else {"error": "no samples"}
    shutil.rmtree(folder, ignore_errors=True)
    return {"tool": f"py-spy record --gil --rate {profile.RATE_HZ} --nonblocking",
            "rate_hz": profile.RATE_HZ, "wall_s": round(wall, 1),
            "latency_while_profiled": measured["latency"], "api": found}
