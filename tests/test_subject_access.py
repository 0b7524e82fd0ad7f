"""GET /subject-access/cases/{id}: everything held about a case or a child, for
authority-level roles only, and each export recorded. On SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy
from sqlmodel import Session, select

from activities.case_store import CaseStoreActivities
from api import store_queries as q
from api.subject_access import collect
from config import Settings
from models.protocol_files import load_protocols
from models.tables import Notification, SubjectAccessExport
from models.transfer import ChangeRecord
from ops.demo import seed_demo_directory
from tests.serving import store_only_client
from tests.test_case_store import NOW, T0, change

C1 = "transfer-gateshead-C1"
PROTOCOLS = load_protocols(Settings().protocols_dir)


def record(store: CaseStoreActivities, seq: int, *, transfer_id: str, run_id: str,
           case_id: str, children: list[str], authority: str = "gateshead") -> None:
    base = change(seq, transfer_id=transfer_id, run_id=run_id, authority=authority)
    view = base.view.model_copy(update={"case_id": case_id, "children": children})
    store.record_change(ChangeRecord.model_validate(
        base.model_dump() | {"view": view.model_dump(), "note_ref": f"{transfer_id}:n{seq}"}))


def agenda(session: Session, key: str, body: str) -> None:
    session.add(Notification(
        key=key, run_id="meeting-gateshead-2027-W23", seq=1,
        transfer_id="meeting-gateshead-2027-W23", recipient_id="gateshead-chair",
        recipient_role="chair", recipient_team="authority", email="chair@gateshead.example",
        subject="Agenda", body=body, created_at=T0))


@pytest.fixture
def held(engine: sqlalchemy.Engine) -> sqlalchemy.Engine:
    seed_demo_directory(engine, {"gateshead": PROTOCOLS["gateshead"]})
    store = CaseStoreActivities(engine)
    for seq in (1, 2):  # case C1: two runs of one transfer (it was transferred twice)
        record(store, seq, transfer_id=C1, run_id="run-a", case_id="C1", children=["C1"])
    record(store, 1, transfer_id=C1, run_id="run-b", case_id="C1", children=["C1"])
    # C1 is also a sibling in case C5; C10 and another authority's C1 are not about C1.
    record(store, 1, transfer_id="transfer-gateshead-C5", run_id="run-c", case_id="C5",
           children=["C5", "C1"])
    record(store, 1, transfer_id="transfer-gateshead-C10", run_id="run-d", case_id="C10",
           children=["C10"])
    record(store, 1, transfer_id="transfer-newcastle-C1", run_id="run-e", case_id="C1",
           children=["C1"], authority="newcastle")
    with Session(engine) as session:
        q.save_note(session, ref=f"{C1}:n1", transfer_id=C1, staff_id="gateshead-sgcp-tm",
                    text="Why we moved it", now=T0)
        q.save_note(session, ref="transfer-gateshead-C10:n1",
                    transfer_id="transfer-gateshead-C10", staff_id="gateshead-sgcp-tm",
                    text="Another child's note", now=T0)
        agenda(session, "a1", f"- C1: {C1} (sgcp-to-lac, sgcp → lac; stage proposed)")
        agenda(session, "a2", "- C10: transfer-gateshead-C10 (sgcp-to-lac)")
        session.commit()
        q.register_start_key(session, authority="gateshead", key="k1", case_id="C1",
                             transfer_id=C1, staff_id="gateshead-sgcp-tm", now=NOW)
    return engine


@pytest.fixture
async def api(held: sqlalchemy.Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with store_only_client(held) as client:
        yield client


def as_(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-gateshead-{who}"}


def exports(engine: sqlalchemy.Engine) -> list[SubjectAccessExport]:
    with Session(engine) as session:
        return list(session.exec(select(SubjectAccessExport)).all())


async def test_an_export_holds_every_run_trail_note_email_and_key(
        api: httpx.AsyncClient, held: sqlalchemy.Engine) -> None:
    answer = await api.get("/subject-access/cases/C1", headers=as_("director"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    assert (body["subject_id"], body["authority"], body["exported_by"]) == (
        "C1", "gateshead", "gateshead-director")
    assert sorted(t["run_id"] for t in body["transfers"]) == ["run-a", "run-b", "run-c"]
    assert body["transfers"][0]["view"]["children"] == ["C1"]
    assert [(e["run_id"], e["seq"]) for e in body["events"]] == [
        ("run-a", 1), ("run-a", 2), ("run-b", 1), ("run-c", 1)]
    assert all(e["hash"] for e in body["events"])
    assert [n["text"] for n in body["notes"]] == ["Why we moved it"]
    assert [n["key"] for n in body["notifications"]] == ["a1"]
    assert [k["key"] for k in body["start_keys"]] == ["k1"]
    assert body["counts"] == {"transfers": 3, "events": 4, "notes": 1, "notifications": 1,
                              "start_keys": 1}
    (made,) = exports(held)
    assert (made.id, made.staff_id, made.subject_id, made.format) == (
        body["export_id"], "gateshead-director", "C1", "json")
    assert (made.transfers, made.events, made.notifications) == (3, 4, 1)


async def test_a_child_is_found_in_the_cases_that_name_them(api: httpx.AsyncClient) -> None:
    body = (await api.get("/subject-access/cases/C5", headers=as_("da"))).json()
    assert [t["case_id"] for t in body["transfers"]] == ["C5"]
    assert body["notifications"] == [] and body["notes"] == []


async def test_the_csv_form_is_a_zip_of_one_csv_per_part(api: httpx.AsyncClient,
                                                         held: sqlalchemy.Engine) -> None:
    answer = await api.get("/subject-access/cases/C1?format=csv", headers=as_("hos-1"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert "attachment; filename=\"subject-access-gateshead-C1-" in (
        answer.headers["content-disposition"])
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(archive.namelist()) == ["events.csv", "export.json", "notes.csv",
                                          "notifications.csv", "start_keys.csv",
                                          "transfers.csv"]
    events = list(csv.DictReader(io.StringIO(archive.read("events.csv").decode())))
    assert [e["seq"] for e in events] == ["1", "2", "1", "1"]
    transfers = list(csv.DictReader(io.StringIO(archive.read("transfers.csv").decode())))
    assert json.loads(transfers[0]["view"])["case_id"] == "C1"
    assert json.loads(archive.read("export.json"))["counts"]["notes"] == 1
    assert [e.format for e in exports(held)] == ["csv"]


async def test_a_subject_with_nothing_held_gets_an_empty_recorded_export(
        api: httpx.AsyncClient, held: sqlalchemy.Engine) -> None:
    body = (await api.get("/subject-access/cases/C404", headers=as_("sad"))).json()
    assert body["counts"] == {"transfers": 0, "events": 0, "notes": 0, "notifications": 0,
                              "start_keys": 0}
    assert [e.subject_id for e in exports(held)] == ["C404"]


@pytest.mark.parametrize("who", ["sgcp-tm", "sgcp-sm", "iro", "legal", "bs", "chair"])
async def test_other_roles_are_refused_and_nothing_is_recorded(
        api: httpx.AsyncClient, held: sqlalchemy.Engine, who: str) -> None:
    answer = await api.get("/subject-access/cases/C1", headers=as_(who))
    assert answer.status_code == 403
    assert answer.json()["detail"].startswith(
        "Subject access exports are for the authority's designated administrator, director, "
        "head of service or senior assistant director (authority team); you are ")
    assert exports(held) == []


async def test_bad_input_is_refused_in_words(api: httpx.AsyncClient) -> None:
    assert (await api.get("/subject-access/cases/C1")).status_code == 401
    bad = await api.get("/subject-access/cases/C1?format=xml", headers=as_("director"))
    assert bad.status_code == 422 and bad.json()["detail"]
    bad = await api.get("/subject-access/cases/Jane%20Smith", headers=as_("director"))
    assert bad.status_code == 422 and bad.json()["detail"]


def test_times_in_the_export_are_utc(held: sqlalchemy.Engine) -> None:
    with Session(held) as session:
        holding = collect(session, "gateshead", "C1")
    assert holding.parts["notes"][0]["created_at"] == "2027-06-07T09:00:00+00:00"
    assert holding.parts["start_keys"][0]["created_at"] == "2027-06-08T09:00:00+00:00"
