"""Fault: the API fuzzed from its own OpenAPI schema (schemathesis).

Every operation of the schema the app publishes is sent generated requests, valid and
invalid (schemathesis's positive and negative modes), signed in as a Gateshead demo
manager, against the real app: a real worker on the time-skipping server and a SQLite
case store already holding transfers in several stages, whose ids the generator knows
besides random ones (and so does it know every action's name). The checks: never a 5xx;
every 4xx a JSON body whose `detail` a person can read; every answer, success or refusal,
with a status the schema declares for its operation and a body as the schema says.

The app and its Temporal stack run on their own event loop in a background thread
(`FuzzStack`), because schemathesis's tests are plain functions: each generated case
is sent to that loop with httpx and its answer checked here.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import sys
import tempfile
import threading
import uuid
import zlib
from collections import Counter
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import schemathesis
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.testing import WorkflowEnvironment

from activities.outbox import SmtpConfig
from api.deps import AppState
from api.main import create_app
from config import ROOT, Settings
from database import make_engine, migrate
from models.protocol_files import load_protocols
from ops.demo import seed_demo_directory
from temporal_setup import register_search_attributes
from tests import dates
from tests.converter import CONVERTER
from tests.mail import Mailbox, free_port
from tests.transfers import CHECKLIST
from worker import ACTIVITY_THREADS, build_worker

T = TypeVar("T")
log = logging.getLogger(__name__)
# ~30 examples per operation in CI; set CASEFLOW_FUZZ_EXAMPLES to explore further locally.
MAX_EXAMPLES = int(os.environ.get("CASEFLOW_FUZZ_EXAMPLES", "30"))
SIGNED_IN_AS = ["gateshead-sgcp-tm", "gateshead-lac-tm", "gateshead-sgcp-sw",
                "gateshead-sgcp-sm"]
PROTOCOLS = load_protocols(ROOT / "protocols")
GATESHEAD = PROTOCOLS["gateshead"]
# Transfers seeded before fuzzing (case id -> what happens to it), so ids exist.
SEEDED = {"F1": "proposed", "F2": "ready", "F3": "transferred", "F4": "withdrawn"}
KNOWN_IDS = [f"transfer-gateshead-{case}" for case in SEEDED]
KNOWN_ACTIONS = sorted(
    {p.gate_action(g) for p in GATESHEAD.pathways.values() for g in p.gates}
    | {o.action for p in GATESHEAD.pathways.values() for g in p.gates
       for o in p.outcomes(g).values() if o.action}
    | {p.duty_action(d) for p in GATESHEAD.pathways.values() for d in p.after_transfer}
    | {"set-transfer-date", "allocate", "withdraw", "extend-deadline", "pause-deadline",
       "resume-deadline", "acknowledge-dispute", "resolve-dispute"})


def _schema() -> dict[str, Any]:
    """The app's own OpenAPI document, its path parameters widened to also name the seeded
    transfers and every known action (the generator still draws any string too)."""
    raw = copy.deepcopy(create_app().openapi())
    known = {"transfer_id": KNOWN_IDS, "action": KNOWN_ACTIONS}
    for operations in raw["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in known:
                    parameter["schema"] = {"anyOf": [{"enum": known[parameter["name"]]},
                                                     parameter["schema"]]}
    return raw


schema = schemathesis.openapi.from_dict(_schema())
# Its stack runs on a time-skipping server of its own, moved to CASEFLOW_TEST_TODAY like ts_env:
# `make test-awkward-days` fuzzes on each awkward day too.
pytestmark = pytest.mark.time_skipping


# ----- the app and its stack, on a loop of their own -------------------------------------


class FuzzStack:
    """The time-skipping server, a worker, a SQLite store, an SMTP server and the app,
    all on an event loop in a daemon thread; `send()` is called from the test's thread."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-stack",
                                       daemon=True)
        self.stack = AsyncExitStack()
        self.client: httpx.AsyncClient | None = None
        self.statuses: Counter[tuple[str, int]] = Counter()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def start(self) -> None:
        self.thread.start()
        self.call(self._start())

    def stop(self) -> None:
        try:
            self.call(self.stack.aclose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)

    async def _start(self) -> None:
        url = f"sqlite:///{self.workdir / 'caseflow.db'}"
        migrate(url)
        worker_engine, api_engine = make_engine(url), make_engine(url)
        self.stack.callback(worker_engine.dispose)
        self.stack.callback(api_engine.dispose)
        seed_demo_directory(worker_engine, PROTOCOLS)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=CONVERTER,
            test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"))
        self.stack.push_async_callback(env.shutdown)
        await register_search_attributes(env.client)
        if await dates.start_at_chosen_today(env):  # CASEFLOW_TEST_TODAY, as ts_env does
            patch = self.stack.enter_context(pytest.MonkeyPatch.context())
            patch.setattr("api.routes.transfers.datetime", dates.ShiftedDatetime)
            self.stack.callback(dates.set_clock_offset, timedelta(0))
        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        self.stack.callback(controller.stop)
        smtp = SmtpConfig(host="127.0.0.1", port=controller.port, username="", password="",
                          starttls=False, mail_from="case-transfers@test.example")
        executor = self.stack.enter_context(ThreadPoolExecutor(ACTIVITY_THREADS))
        worker = build_worker(env.client, task_queue=f"tq-{uuid.uuid4()}",
                              engine=worker_engine, smtp=smtp, executor=executor)
        await self.stack.enter_async_context(worker)
        settings_ = Settings(temporal_task_queue=worker.task_queue)
        app = create_app(AppState(settings=settings_, engine=api_engine, temporal=env.client,
                                  protocols=PROTOCOLS))
        await self.stack.enter_async_context(app.router.lifespan_context(app))
        self.client = await self.stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://api", timeout=60))
        await self._seed()

    async def _seed(self) -> None:
        assert self.client is not None
        long_ago = (dates.now() - timedelta(days=21)).isoformat()
        for case, stage in SEEDED.items():
            body = {"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": case}
            if stage == "transferred":
                body["anchor_at"] = long_ago  # its agreed date has passed: complete, it moves
            answer = await self._ok("POST", "/transfers", "gateshead-sgcp-tm", json=body)
            tid = answer["transfer_id"]
            if stage in ("ready", "transferred"):
                steps = [("authorise-summary", "gateshead-sgcp-tm", None),
                         ("complete-checklist", "gateshead-sgcp-tm", {"items": CHECKLIST}),
                         ("inform-iro", "gateshead-sgcp-sw", None),
                         ("record-care-order", "gateshead-sgcp-tm", None)]
                for action, who, json in steps:
                    answer = await self._ok("POST", f"/transfers/{tid}/actions/{action}", who,
                                            json=json)
            if stage == "withdrawn":
                answer = await self._ok("POST", f"/transfers/{tid}/actions/withdraw",
                                        "gateshead-sgcp-tm")
            assert answer["stage"] == stage, (case, answer["stage"])

    async def _ok(self, method: str, path: str, who: str, **kwargs: Any) -> dict[str, Any]:
        assert self.client is not None
        response = await self.client.request(
            method, path, headers={"Authorization": f"Bearer demo-{who}"}, **kwargs)
        assert response.status_code < 300, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def send(self, case: schemathesis.Case[Any], who: str | None = None) -> httpx.Response:
        """Send a case as `who`, by default one of the demo managers chosen from the case
        itself (so a derandomized run sends the same requests every time)."""
        kwargs = case.as_transport_kwargs(base_url="http://api")
        headers = {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()}
        who = who or SIGNED_IN_AS[zlib.crc32(repr(sorted(kwargs.items(), key=str)).encode())
                                  % len(SIGNED_IN_AS)]
        headers["Authorization"] = f"Bearer demo-{who}"
        body: dict[str, Any] = {}
        if "json" in kwargs:
            body["json"] = kwargs["json"]
        elif isinstance(kwargs.get("data"), (bytes, str)):
            body["content"] = kwargs["data"]
        elif "data" in kwargs:
            body["data"] = kwargs["data"]
        assert self.client is not None
        if kwargs.get("cookies"):
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
        response = self.call(self.client.request(
            kwargs["method"], kwargs["url"], headers=headers, params=kwargs.get("params"),
            **body))
        self.statuses[(f"{case.method} {case.path}", response.status_code)] += 1
        return response


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[FuzzStack]:
    with tempfile.TemporaryDirectory(prefix="caseflow-fuzz-") as workdir:
        stack = FuzzStack(Path(workdir))
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()
            log.info("fuzzed: %d requests; by operation and status: %s",
                     sum(stack.statuses.values()), sorted(stack.statuses.items()))


# ----- the checks ---------------------------------------------------------------------------


def readable(detail: Any) -> bool:
    """A message for a person: a non-empty sentence (a request that does not match the
    schema too: its field errors, each naming where and what, come apart in `errors`)."""
    return isinstance(detail, str) and bool(detail.strip())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_fuzz(case: schemathesis.Case[Any], fuzz_stack: FuzzStack) -> None:
    response = fuzz_stack.send(case)
    where = f"{case.method} {response.request.url} -> {response.status_code}: {response.text}"
    assert response.status_code < 500, where
    if 400 <= response.status_code < 500:
        assert response.headers.get("content-type", "").startswith("application/json"), where
        body = response.json()
        assert isinstance(body, dict) and readable(body.get("detail")), where
    # Success or refusal, the answer is one the schema declares, with the body it promises.
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                              response_schema_conformance])


def test_a_rejection_matches_the_published_schema(fuzz_stack: FuzzStack) -> None:
    """The API's own 422 (a refusal in words). Until the schema declared one error body
    for every refusal, it promised FastAPI's list of field errors for every 422, and
    401/403/404/409/503/504 not at all."""
    operation = schema["/transfers"]["POST"]
    case = operation.Case(body={"authority": "gateshead", "pathway": "sgcp-to-lac",
                                "case_id": "F9", "anchor_at": "2026-01-02T09:00:00Z",
                                "agreed_transfer_date": "2026-01-03"},
                          media_type="application/json")
    response = fuzz_stack.send(case, who="gateshead-sgcp-tm")
    assert response.status_code == 422, response.text
    assert "not a working day" in response.json()["detail"]
    case.validate_response(response, checks=[status_code_conformance,
                                             response_schema_conformance])


def test_an_invalid_request_names_its_fields_as_the_schema_says(fuzz_stack: FuzzStack) -> None:
    """FastAPI's own 422 (the request does not match the schema): a sentence naming each
    field in `detail`, like every other refusal, and the field errors in `errors`."""
    operation = schema["/transfers"]["POST"]
    case = operation.Case(body={"authority": "gateshead", "pathway": "sgcp-to-lac",
                                "case_id": "Jane Smith", "anchor_at": "2026-01-02T09:00:00"},
                          media_type="application/json")
    response = fuzz_stack.send(case, who="gateshead-sgcp-tm")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith("The request is not valid: "), body
    assert "case_id in the body" in body["detail"] and "anchor_at in the body" in body["detail"]
    assert sorted(e["loc"] for e in body["errors"]) == [["body", "anchor_at"],
                                                        ["body", "case_id"]]
    assert all(e["msg"] and e["type"] for e in body["errors"])
    case.validate_response(response, checks=[status_code_conformance,
                                             response_schema_conformance])


def test_an_undeclared_error_body_would_be_caught() -> None:
    """The check above can fail: FastAPI's list of field errors in `detail` is not the
    body the schema declares."""
    operation = schema["/transfers"]["POST"]
    case = operation.Case(body={"authority": "gateshead", "pathway": "sgcp-to-lac",
                                "case_id": "F9"}, media_type="application/json")
    response = httpx.Response(422, json={"detail": [{"loc": ["body", "case_id"], "msg": "x",
                                                     "type": "missing"}]},
                              request=httpx.Request("POST", "http://api/transfers"))
    response.elapsed = timedelta(0)  # as if sent
    with pytest.raises(FailureGroup):
        case.validate_response(response, checks=[response_schema_conformance])


def test_an_offset_past_the_stores_range_is_refused(fuzz_stack: FuzzStack) -> None:
    """Found by this fuzzer (300 examples per operation): an offset past the store's
    integer range answered 500 until d5a4d73 bounded it."""
    case = schema["/transfers"]["GET"].Case(query={"limit": 1, "offset": 2**63})
    response = fuzz_stack.send(case, who="gateshead-lac-tm")
    assert response.status_code == 422, response.text
    assert readable(response.json()["detail"])
