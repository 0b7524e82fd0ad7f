"""Nothing personal reaches Temporal: a name typed into every free-text field and header of
full lifecycles (through the API, and a recalculation) is nowhere in any workflow's history,
search attributes, summaries, the logs or the emails; and what Temporal holds is ciphertext,
which the codec endpoint decrypts for a signed-in senior manager only.

On the dev server (not the time-skipping one): visibility lists every workflow there is.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.outbox import SmtpConfig
from api.deps import AppState
from api.main import create_app
from config import Settings
from models.protocol_files import load_protocols
from models.tables import ActionNote
from ops.demo import seed_demo_directory
from ops.recalculate import Result, directory_actor, recalculate_all
from payload_codec import ENCODING
from tests.conftest import ADDRESSES
from tests.mail import Mailbox
from tests.test_engine_capabilities import TESTSHIRE
from worker import ACTIVITY_THREADS, build_worker

NAME = "Jessamy Quillfeather"
# Keys that pass the Idempotency-Key pattern and still spell the name: hashed, never stored.
KEYS = iter(["JessamyQuillfeather01", "Jessamy.Quillfeather-02", "jessamy_quillfeather:03",
             "QUILLFEATHER.Jessamy.04", "Jessamy-Quillfeather-05", "jessamyquillfeather06",
             "JessamyQuillfeather07"])
SPELLINGS = [b"jessamy", b"quillfeather"]


def token(who: str, authority: str = "gateshead") -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{authority}-{who}"}


def named(raw: bytes) -> bool:
    lowered = raw.lower()
    return any(s in lowered for s in SPELLINGS)



@pytest.fixture
async def api(dev_env: WorkflowEnvironment, directory_engine: sqlalchemy.Engine,
              mailbox: Mailbox) -> AsyncIterator[httpx.AsyncClient]:
    seed_demo_directory(directory_engine, {"testshire": TESTSHIRE})
    smtp = SmtpConfig(host="127.0.0.1", port=mailbox.port, username="", password="",
                      starttls=False, mail_from="case-transfers@test.example")
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        worker = build_worker(dev_env.client, task_queue=f"tq-{uuid.uuid4()}",
                              engine=directory_engine, smtp=smtp, executor=executor,
                              addresses=ADDRESSES)
        async with worker:
            settings = Settings(temporal_task_queue=worker.task_queue)
            protocols = {**load_protocols(settings.protocols_dir), "testshire": TESTSHIRE}
            app = create_app(AppState(settings=settings, engine=directory_engine,
                                      temporal=dev_env.client, protocols=protocols,
                                      addresses=ADDRESSES))
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport,
                                             base_url="http://api") as client:
                    yield client


async def post(api: httpx.AsyncClient, path: str, who: dict[str, str], **body: Any
               ) -> httpx.Response:
    answer = await api.post(path, json=body or None,
                            headers={**who, "Idempotency-Key": next(KEYS)})
    assert answer.status_code in (200, 201), answer.text
    return answer


async def refusals_do_not_echo_the_name(api: httpx.AsyncClient) -> None:
    start = {"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": "C9002"}
    tm = token("sgcp-tm")
    for body, headers in [
        (start, {**tm, "Idempotency-Key": NAME}),  # a space: refused by the key's pattern
        ({**start, "case_id": "JessamyQuillfeather01"}, tm),  # not a case id
        ({**start, "children": ["Quillfeather7"]}, tm),
        ({**start, "pathway": NAME}, tm),
        ({**start, "authority": NAME}, tm),
        ({**start, "key_dates": {NAME: "2026-01-05"}}, tm),
        ({"authority": "testshire", "pathway": "third-party", "case_id": "C9003",
          "parties": {NAME: "gamma"}}, token("alpha-tm", "testshire")),
    ]:
        refused = await api.post("/transfers", json=body, headers=headers)
        assert refused.status_code in (403, 422), refused.text
        assert not named(refused.content), refused.text
    unknown = await api.get(f"/transfers/{NAME}", headers=tm)
    assert unknown.status_code == 404 and not named(unknown.content), unknown.text
    action = await api.post("/transfers/transfer-gateshead-C9002/actions/JessamyQuillfeather",
                            headers=tm)
    assert action.status_code == 422 and not named(action.content), action.text


async def test_a_name_in_every_free_text_field_never_reaches_temporal(
        api: httpx.AsyncClient, dev_env: WorkflowEnvironment,
        directory_engine: sqlalchemy.Engine, mailbox: Mailbox,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    await refusals_do_not_echo_the_name(api)

    # Testshire: a checklist with a reason an item does not apply, then allocation.
    alpha, beta = token("alpha-tm", "testshire"), token("beta-tm", "testshire")
    t1 = "/transfers/transfer-testshire-C9001"
    await post(api, "/transfers", alpha, authority="testshire", pathway="checklist-na",
               case_id="C9001")
    done = await post(api, f"{t1}/actions/complete-checklist", alpha,
                      items=["chronology", "case_summary", "legal_paperwork"],
                      not_applicable={"risk_assessment": f"{NAME} lives alone"},
                      note=f"Checked with {NAME}'s family")
    assert done.json()["stage"] == "transferred"
    allocated = await post(api, f"{t1}/actions/allocate", beta, worker_id="W9001",
                           note=f"{NAME} knows this worker")
    assert allocated.json()["stage"] in ("allocated", "closed")

    # Gateshead: a step, a recalculation with the reason, a withdrawal.
    t2 = "/transfers/transfer-gateshead-C9002"
    await post(api, "/transfers", token("sgcp-tm"), authority="gateshead",
               pathway="sgcp-to-lac", case_id="C9002", children=["C9002", "C9012"])
    await post(api, f"{t2}/actions/inform-iro", token("sgcp-sw"), note=f"IRO told of {NAME}")
    [recalculated] = await recalculate_all(
        dev_env.client, directory_engine, authority="gateshead",
        reason=f"{NAME}'s school closes",
        requested_by=directory_actor(directory_engine, "gateshead-sgcp-sm", "gateshead"),
        protocol=load_protocols(Settings().protocols_dir)["gateshead"], use_calendar=True,
        use_pathway=False, transfer_id="transfer-gateshead-C9002")
    assert recalculated.result in (Result.changed, Result.unchanged), recalculated
    withdrawn = await post(api, f"{t2}/actions/withdraw", token("sgcp-tm"),
                           note=f"{NAME} moved away")
    assert withdrawn.json()["stage"] == "withdrawn"

    # The case store keeps every word, so the audit trail still says why.
    with Session(directory_engine) as session:
        notes = [n.text for n in session.exec(select(ActionNote))]
    assert len(notes) == 5 and all(NAME in n for n in notes)
    trail = (await api.get(f"{t2}/events", headers=token("sgcp-tm"))).json()
    recalc = next(e for e in trail if e["kind"] == "recalculated")
    assert recalc["note"] == f"{NAME}'s school closes" and not named(recalc["summary"].encode())

    client = dev_env.client
    listed = [w async for w in client.list_workflows("")]
    assert {w.id for w in listed} >= {"transfer-testshire-C9001", "transfer-gateshead-C9002"}
    for workflow in listed:
        handle = client.get_workflow_handle(workflow.id, run_id=workflow.run_id)
        history = await handle.fetch_history()
        raw = History(events=history.events).SerializeToString()
        assert not named(raw), workflow.id
        described = await handle.describe()
        assert not named(described.raw_description.SerializeToString()), workflow.id
        await payloads_are_ciphertext(history, workflow.id)

    await decoded_only_for_senior_managers(api, client, "transfer-gateshead-C9002")

    assert mailbox.messages, "the lifecycles sent no email"
    for _, message in mailbox.messages:
        assert not named(message.as_bytes()), message["Subject"]
    # Every log line of the system (the test's own HTTP client logs the URLs it sent).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert logged and not named(logged.encode())
    out, err = capfd.readouterr()
    assert not named(out.encode()) and not named(err.encode())


async def payloads_are_ciphertext(history: Any, workflow_id: str) -> None:
    """A raw client (no codec) sees only ciphertext: encrypted metadata, no id in plain."""
    started = next(e for e in history.events
                   if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    attrs = started.workflow_execution_started_event_attributes
    payloads = [*attrs.input.payloads]
    if started.user_metadata.HasField("summary"):
        payloads.append(started.user_metadata.summary)
    assert payloads, workflow_id
    case_id = workflow_id.rsplit("-", 1)[-1].encode()
    for payload in payloads:
        assert payload.metadata["encoding"] == ENCODING, workflow_id
        assert case_id not in payload.data and b"json" not in payload.data, workflow_id


async def decoded_only_for_senior_managers(api: httpx.AsyncClient, client: Client,
                                           workflow_id: str) -> None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    sealed = started.input.payloads[0]
    body = {"payloads": [{"metadata": {k: base64.b64encode(v).decode()
                                       for k, v in sealed.metadata.items()},
                          "data": base64.b64encode(sealed.data).decode()}]}
    ns = {"X-Namespace": "default", "Origin": "http://localhost:8233"}
    assert (await api.post("/codec/decode", json=body, headers=ns)).status_code == 401
    worker = await api.post("/codec/decode", json=body, headers={**ns, **token("sgcp-sw")})
    assert worker.status_code == 403 and "director" in worker.json()["detail"]
    opened = await api.post("/codec/decode", json=body, headers={**ns, **token("director")})
    assert opened.status_code == 200, opened.text
    assert opened.headers["access-control-allow-origin"] == "http://localhost:8233"
    [plain] = opened.json()["payloads"]
    assert base64.b64decode(plain["metadata"]["encoding"]) == b"json/plain"
    assert b'"case_id":"C9002"' in base64.b64decode(plain["data"])
    # Round trip: what /encode seals, /decode opens.
    sealed_again = await api.post("/codec/encode", json=opened.json(),
                                  headers={**ns, **token("director")})
    again = await api.post("/codec/decode", json=sealed_again.json(),
                           headers={**ns, **token("sgcp-sm")})
    assert again.json() == opened.json()
    # The UI's preflight: its origin may send the namespace and the token; no other origin.
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}
    ok = await api.options("/codec/decode",
                           headers={**preflight, "Origin": "http://localhost:8233"})
    assert ok.status_code == 200 and "x-namespace" in ok.headers[
        "access-control-allow-headers"].lower()
    other = await api.options("/codec/decode",
                              headers={**preflight, "Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    elsewhere = await api.options("/transfers",
                                  headers={**preflight, "Origin": "http://localhost:8233"})
    assert "access-control-allow-origin" not in elsewhere.headers
    garbled = await api.post("/codec/decode", content=b"{not json",
                             headers={**ns, **token("director"),
                                      "Content-Type": "application/json"})
    assert garbled.status_code == 422 and "payloads" in garbled.json()["detail"]
