"""Need to know (issue 10, part 3): staff read only the transfers, trails and mail they need,
and every read is recorded."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.case_store import CaseStoreActivities
from api import store_queries as q
from api.need_to_know import Scope, may_read, named_teams, pathways_naming, scope_of
from config import ROOT
from database import make_engine
from models.protocol_files import load_protocols
from models.tables import ActionNote, Notification, ReadRecord, TransferEvent
from models.transfer import ChangeRecord, Stage
from tests import dates
from tests.test_case_store import NOW, change
from tests.transfers import api_on

PROTOCOLS = load_protocols(ROOT / "protocols")
TID = "transfer-gateshead-C100234"
TRANSFER = f"/transfers/{TID}"
START = {"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": "C100234",
         "children": ["C100234"]}


def token(who: str) -> dict[str, str]:
    """Sign in as a Gateshead demo staff member, e.g. `sgcp-tm`."""
    return {"Authorization": f"Bearer demo-gateshead-{who}"}


def not_found(transfer_id: str) -> dict[str, str]:
    del transfer_id  # the answer does not echo what was asked for
    return {"detail": "No such transfer in gateshead"}


# ----- the rule ---------------------------------------------------------------------------------

def test_who_covers_what() -> None:
    gateshead, st_helens = PROTOCOLS["gateshead"], PROTOCOLS["st_helens"]
    assert scope_of("gateshead", "team_manager", "lac", gateshead).teams == frozenset({"lac"})
    assert scope_of("gateshead", "social_worker", "sgcp", gateshead).teams == frozenset({"sgcp"})
    for role in ("senior_assistant_director", "director", "iro", "legal_services",
                 "designated_administrator", "business_support", "chair"):
        assert scope_of("gateshead", role, "authority", gateshead).whole_authority, role
    # A Head of Service serves the authority when listed under it, else their service.
    assert scope_of("gateshead", "head_of_service", "authority", gateshead).whole_authority
    assert scope_of("st_helens", "head_of_service", "duty_teams", st_helens).teams == frozenset({
        "duty_teams", "duty"})
    assert scope_of("gateshead", "head_of_service", "lac", gateshead).teams == frozenset({"lac"})
    service_manager = scope_of("nottingham", "service_manager", "early_help_services",
                               PROTOCOLS["nottingham"])
    assert service_manager.teams == frozenset({"early_help_services", "early_help", "tfst",
                                               "bit", "parenting"})


def test_a_pathway_that_names_a_team_to_act_is_that_teams_to_read() -> None:
    nottingham = PROTOCOLS["nottingham"]
    pathway = nottingham.pathways["early-help-to-duty"]
    assert named_teams(pathway) == {"mash"}
    mash = scope_of("nottingham", "team_manager", "mash", nottingham)
    assert may_read(mash, "nottingham", {"early_help", "duty"}, pathway)
    assert "early-help-to-duty" in pathways_naming(nottingham, mash)
    fieldwork = scope_of("nottingham", "team_manager", "fieldwork", nottingham)
    assert not may_read(fieldwork, "nottingham", {"early_help", "duty"}, pathway)
    # Another authority's transfer: never, whatever the role.
    assert not may_read(Scope("gateshead", None, "director"), "nottingham", set(), pathway)


def test_a_role_the_pathway_lets_act_at_large_reads_its_transfers() -> None:
    st_helens = PROTOCOLS["st_helens"]
    hos = scope_of("st_helens", "head_of_service", "duty_teams", st_helens)
    at_large = [pid for pid, p in st_helens.pathways.items()
                if any(str(ref) == "head_of_service@authority" for _, ref in p.role_refs())]
    assert at_large and set(at_large) <= set(pathways_naming(st_helens, hos))
    pathway = st_helens.pathways[at_large[0]]
    assert may_read(hos, "st_helens", {"nowhere"}, pathway)
    team_manager = scope_of("st_helens", "team_manager", "duty", st_helens)
    assert not may_read(team_manager, "st_helens", {"nowhere"}, pathway)


# ----- the case store: the teams a transfer has involved, in any run ---------------------------

def _with(record: ChangeRecord, **view: Any) -> ChangeRecord:
    return record.model_copy(update={"view": record.view.model_copy(update=view)})


def test_a_team_that_held_a_transfer_keeps_reading_it(engine: sqlalchemy.Engine) -> None:
    store = CaseStoreActivities(engine)
    # Run 1: SGCP -> LAC, the IRT named as a party; disputed and redirected to CWD.
    store.record_change(_with(change(1, run_id="run-1"), parties={"original_team": "irt"}))
    store.record_change(_with(change(2, run_id="run-1", stage=Stage.redirected),
                              parties={"original_team": "irt"}, redirected_to="cwd"))
    # Run 2 of the same transfer: SGCP -> CWD. LAC is no longer named on the current row.
    later = datetime(2027, 7, 1, 9, tzinfo=UTC)
    store.record_change(change(1, run_id="run-2", to_team="cwd", at=later))
    teams = frozenset({"sgcp", "lac", "cwd", "irt", "edge_of_care"})
    with Session(engine) as session:
        latest = q.latest_transfer(session, "TR-1")
        assert latest is not None and (latest.run_id, latest.to_team) == ("run-2", "cwd")
        assert q.involves(session, authority="gateshead", transfer_id="TR-1",
                          teams=teams) == {"sgcp", "lac", "cwd", "irt"}
        assert q.involves(session, authority="newcastle", transfer_id="TR-1",
                          teams=teams) == set()

        def tray(readable_by: frozenset[str] | None, team: str | None = None) -> list[str]:
            views, count = q.list_transfers(
                session, authority="gateshead", team=team, stage=None, overdue=None,
                now=later, limit=10, offset=0, readable_by=readable_by)
            assert count == len(views)
            return sorted(v for v in views)

        everything = tray(None)
        assert len(everything) == 2
        assert tray(frozenset({"lac"})) == everything  # both runs, LAC in the first only
        assert tray(frozenset({"edge_of_care"})) == []
        # Naming a team in the query does not widen what the reader may see.
        assert tray(frozenset({"edge_of_care"}), team="sgcp") == []
        assert len(tray(frozenset({"cwd"}), team="cwd")) == 1  # its own tray: the current row


def test_the_migration_fills_the_teams_of_transfers_already_stored(store_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", store_url)
    command.downgrade(config, "0003")
    engine = make_engine(store_url)
    try:
        row = CaseStoreActivities._current_row(change(1, stage=Stage.transferred), NOW)
        # The table as it was at 0003: later migrations add (and fill) the other columns.
        then = sqlalchemy.Table("transfer", sqlalchemy.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.insert(then), [
                {k: json.loads(v) if k == "view" else v  # the JSON column encodes it once
                 for k, v in row.items() if k in then.columns}])
        command.upgrade(config, "head")
        with Session(engine) as session:
            assert q.involves(session, authority="gateshead", transfer_id="TR-1",
                              teams=frozenset({"sgcp", "lac", "cwd"})) == {"sgcp", "lac"}
    finally:
        engine.dispose()


# ----- through the API --------------------------------------------------------------------------

async def _mail(api: httpx.AsyncClient, who: str, **params: str) -> httpx.Response:
    """`who`'s request for notifications, once some mail has been written."""
    for _ in range(200):
        got = await api.get("/notifications", params=params, headers=token(who))
        if got.status_code != 200 or got.json():
            return got
        await asyncio.sleep(0.05)
    return got


async def test_staff_read_only_what_they_need_to_know(
        ts_env: WorkflowEnvironment, worker: Worker, directory_engine: sqlalchemy.Engine
) -> None:
    lo = min(datetime.now(UTC), dates.now()) - timedelta(seconds=1)
    async with api_on(directory_engine, ts_env, worker) as api:
        started = await api.post("/transfers", json=START,
                                 headers={**token("sgcp-tm"), "Idempotency-Key": "s1"})
        assert started.status_code == 201, started.text

        # A social worker of an unrelated team: the transfer does not exist for them, in the
        # very words used for a transfer that does not exist at all.
        missing = await api.get("/transfers/transfer-gateshead-C999", headers=token("cwd-sw"))
        assert (missing.status_code, missing.json()) == (404, not_found(
            "transfer-gateshead-C999"))
        for path in (TRANSFER, f"{TRANSFER}/events"):
            refused = await api.get(path, headers=token("cwd-sw"))
            assert (refused.status_code, refused.json()) == (404, not_found(TID)), path
        acted = await api.post(f"{TRANSFER}/actions/authorise-summary", json={"note": "mine"},
                               headers={**token("cwd-tm"), "Idempotency-Key": "a1"})
        assert (acted.status_code, acted.json()) == (404, not_found(TID))

        # The receiving team's manager, the sending team, and the authority's Head of
        # Service and Director read it.
        for who in ("lac-tm", "sgcp-sw", "hos-1", "director"):
            read = await api.get(TRANSFER, headers=token(who))
            assert read.status_code == 200 and read.json()["transfer_id"] == TID, who
            trail = await api.get(f"{TRANSFER}/events", headers=token(who))
            assert [e["kind"] for e in trail.json()] == ["started"], who

        # Work trays: nothing for an unrelated team, even asking for another team's.
        for who, params, count in (("cwd-tm", {}, 0), ("cwd-tm", {"team": "sgcp"}, 0),
                                   ("cwd-sw", {"overdue": "false"}, 0), ("lac-tm", {}, 1),
                                   ("sgcp-sw", {"team": "sgcp"}, 1), ("hos-2", {}, 1)):
            tray = await api.get("/transfers", params=params, headers=token(who))
            assert tray.status_code == 200
            assert (len(tray.json()["data"]), tray.json()["count"]) == (count, count), (
                who, params)

        # Mail: by default one's own.
        own = await _mail(api, "lac-tm")
        assert own.status_code == 200 and own.json()
        assert {n["recipient_id"] for n in own.json()} == {"gateshead-lac-tm"}
        explicit = await api.get("/notifications", params={"recipient": "gateshead-lac-tm"},
                                 headers=token("lac-tm"))
        assert explicit.json() == own.json()
        for params, words in (({"recipient": "gateshead-sgcp-tm"}, "another person's mail"),
                              ({"recipient": "*"}, "everyone's mail")):
            refused = await api.get("/notifications", params=params, headers=token("lac-tm"))
            assert refused.status_code == 403
            assert refused.json()["detail"] == (
                f"Only staff who serve the whole authority may read {words}; you are signed "
                "in as team_manager of lac, so you may read your own (leave out 'recipient')")
        theirs = await _mail(api, "hos-1", recipient="gateshead-lac-tm")
        assert theirs.json() == own.json()
        everyone = await _mail(api, "legal", recipient="*")
        with Session(directory_engine) as session:
            outbox = session.exec(select(Notification.key)).all()
        assert sorted(n["key"] for n in everyone.json()) == sorted(outbox)

    hi = max(datetime.now(UTC), dates.now()) + timedelta(seconds=1)
    with Session(directory_engine) as session:
        # The refused action kept no note and reached no workflow.
        assert session.exec(select(ActionNote)).all() == []
        assert [e.kind for e in session.exec(select(TransferEvent))] == ["started"]
        reads = session.exec(select(ReadRecord).order_by(col(ReadRecord.id))).all()
    assert all(lo <= q.aware(r.at) <= hi and r.authority == "gateshead" for r in reads)
    kept = [(r.staff_id.removeprefix("gateshead-"), r.what, r.transfer_id, r.refused)
            for r in reads]
    # An attempt on a transfer that does not exist is kept as one on a transfer that does.
    assert kept[:4] == [("cwd-sw", "transfer", "transfer-gateshead-C999", True),
                        ("cwd-sw", "transfer", TID, True), ("cwd-sw", "events", TID, True),
                        ("cwd-tm", "action", TID, True)]
    assert ("lac-tm", "transfer", TID, False) in kept
    assert ("hos-1", "events", TID, False) in kept
    assert kept.count(("cwd-tm", "tray", None, False)) == 2
    mail = [(r.staff_id.removeprefix("gateshead-"), r.recipient, r.refused) for r in reads
            if r.what == "notifications"]
    assert ("lac-tm", "gateshead-lac-tm", False) in mail
    assert ("lac-tm", "gateshead-sgcp-tm", True) in mail and ("lac-tm", "*", True) in mail
    assert ("hos-1", "gateshead-lac-tm", False) in mail and ("legal", "*", False) in mail
    assert len(kept) == 4 + 8 + 6 + len([r for r in kept if r[1] == "notifications"])


async def test_a_redirected_transfer_and_a_services_staff(
        ts_env: WorkflowEnvironment, worker: Worker, directory_engine: sqlalchemy.Engine
) -> None:
    path = "/transfers/transfer-nottingham-N42"

    def as_(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer demo-nottingham-{who}"}

    async with api_on(directory_engine, ts_env, worker) as api:

        async def act(action: str, who: str, **body: Any) -> None:
            answer = await api.post(f"{path}/actions/{action}", json=body or None,
                                    headers=as_(who))
            assert answer.status_code == 200, (action, answer.text)

        started = await api.post("/transfers", headers=as_("fieldwork-tm"), json={
            "authority": "nottingham", "pathway": "fieldwork-to-cic", "case_id": "N42"})
        assert started.status_code == 201, started.text
        items = PROTOCOLS["nottingham"].pathways["fieldwork-to-cic"].gates["checklist"].items
        await act("confirm-receipt", "cic-tm")
        await act("record-order-granted", "fieldwork-tm", date=started.json()["anchor_at"][:10])
        await act("record-joint-visit", "cic-sw")
        await act("complete-checklist", "fieldwork-tm", items=items)
        await act("initiate", "fieldwork-tm")
        await act("dispute", "cic-tm", note="Not a case for us")
        await act("acknowledge-dispute", "fieldwork-sm")
        await act("resolve-dispute", "cic-sm", resolution="redirect", to_team="permanency",
                  note="Permanency should hold it")

        # The team the dispute redirected the case to reads it; its own service's Head of
        # Service too (fieldwork and CiC are Children's Social Care teams); not another
        # team, nor the Head of Service of another service.
        for who, code in (("permanency-tm", 200), ("childrens_social_care-hos", 200),
                          ("leaving_care-tm", 404), ("early_help_services-hos", 404)):
            assert (await api.get(path, headers=as_(who))).status_code == code, who
        tray = await api.get("/transfers", headers=as_("permanency-sw"))
        assert tray.json()["count"] == 1
