"""Process faults on the real stack: nothing lost, nothing done twice.

(a) The worker is killed (SIGKILL) while managers' requests and activities are in flight
    on ten transfers, then started again; every request is retried with its
    Idempotency-Key until it is answered.
(b) The Temporal dev server is stopped (SIGTERM) while transfers wait on timers, then
    started again on the same database file; the timers still fire.

Both end with tests.faults.invariants.check_store against what the SMTP server accepted.
See docs/reliability/process-faults.md for what was measured.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
import yaml
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from config import ROOT
from database import make_engine
from models.tables import ActionNote
from ops.stack import Stack
from tests.faults.conftest import (
    AUTOMATIC,
    CHECKLIST,
    EMAILS_PER_TRANSFER,
    LIFECYCLE,
    Answer,
    Managers,
    SmtpServer,
    StackFactory,
    TimedMailbox,
    all_sent,
    events_by_transfer,
    notifications,
    stages,
    until,
)
from tests.faults.invariants import caseflow_key, check_store


async def history_counts(client: Client, transfer_ids: list[str]) -> Counter[str]:
    """What the kill cost, read from the workflows' histories."""
    found: Counter[str] = Counter()
    for transfer_id in transfer_ids:
        history = await client.get_workflow_handle(transfer_id).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                found["workflow tasks timed out"] += 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                found["workflow tasks failed"] += 1
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED \
                    and event.activity_task_started_event_attributes.attempt > 1:
                found["activities retried"] += 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                found["updates accepted"] += 1
    return found


async def cut_off_deliveries(client: Client, transfer_ids: list[str]) -> set[tuple[str, int]]:
    """(run id, seq) of every email delivery that had to be run again (attempt > 1)."""
    found: set[tuple[str, int]] = set()
    for transfer_id in transfer_ids:
        history = await client.get_workflow_handle(transfer_id).fetch_history()
        scheduled: dict[int, tuple[str, int]] = {}
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                if attrs.activity_type.name == "deliver_notifications":
                    # History holds it encrypted: opened as a client with the keys does.
                    payloads = list(attrs.input.payloads[:1])
                    codec = client.data_converter.payload_codec
                    if codec is not None:
                        payloads = await codec.decode(payloads)
                    request = json.loads(payloads[0].data)
                    scheduled[event.event_id] = (request["run_id"], request["seq"])
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs_started = event.activity_task_started_event_attributes
                if attrs_started.scheduled_event_id in scheduled and attrs_started.attempt > 1:
                    found.add(scheduled[attrs_started.scheduled_event_id])
    return found


def repeated_emails(box: TimedMailbox, cut_off: set[tuple[str, int]]) -> list[str]:
    """Emails the SMTP server accepted more than once. SMTP cannot be exactly-once across a
    crash: a worker killed after the server's 250 and before the outbox row is marked sent
    sends that row again when the delivery is retried. Each such copy must be the same
    message (same Message-ID, so the recipient's system can drop it) and must come from a
    delivery the kill cut off."""
    repeated = [key for key, n in box.keys().items() if n > 1]
    for key in repeated:
        copies = [m for _, m in box.messages if caseflow_key(m) == key]
        assert len(copies) == 2, f"{key} accepted {len(copies)} times"
        assert len({str(m["Message-ID"]) for m in copies}) == 1, key
        run_id, seq, _ = key.rsplit(":", 2)
        assert (run_id, int(seq)) in cut_off, f"{key} sent twice by a delivery not cut off"
    return repeated


# ---------------------------------------------------------------------------------------
# (a) SIGKILL the worker mid-flight
# ---------------------------------------------------------------------------------------

TRANSFERS = 10


@pytest.mark.timeout(300)
async def test_worker_killed_mid_flight_loses_nothing(
        stack: Stack, smtp: SmtpServer, store: sqlalchemy.Engine, managers: Managers,
        temporal: Client) -> None:
    anchor = datetime.now(UTC) - timedelta(days=21)  # the deadline has passed: breach at once
    answers: dict[str, list[Answer]] = {}

    async def lifecycle(i: int) -> None:
        case = f"K{i:03d}"
        answers[f"transfer-gateshead-{case}"] = await managers.gateshead_lifecycle(case, anchor)

    def recorded() -> int:
        return sum(len(trail) for trail in events_by_transfer(store).values())

    expected_events = TRANSFERS * (len(LIFECYCLE) + len(AUTOMATIC))
    began = time.monotonic()
    clients = [asyncio.create_task(lifecycle(i)) for i in range(TRANSFERS)]
    # Kill once a third of the work is recorded: starts, actions, breaches, store writes and
    # emails are all in flight across the ten transfers.
    await until(recorded, lambda n: n >= expected_events // 3, timeout=60,
                what="a third of the events recorded")
    at_kill = recorded()
    stack.kill_worker()
    killed = time.monotonic()
    await asyncio.to_thread(stack.start_worker)
    restarted = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*clients), timeout=170)
    answered = time.monotonic()
    await until(lambda: all_sent(store), bool, timeout=170, what="every email delivered")
    delivered = time.monotonic()

    # Every transfer reached allocation, every action acted once, nothing else happened.
    assert stages(store) == {f"transfer-gateshead-K{i:03d}": "allocated"
                             for i in range(TRANSFERS)}
    expected_kinds = Counter(AUTOMATIC + [kind for *_, kind in LIFECYCLE])
    for tid, trail in events_by_transfer(store).items():
        assert Counter(e.kind for e in trail) == expected_kinds, (tid, [e.kind for e in trail])
        # The note given with inform-iro is kept, under the ref its event names.
        (informed,) = [e for e in trail if e.kind == "gate:iro_informed"]
        with Session(store) as session:
            note = session.get(ActionNote, informed.note_ref)
        assert note is not None and note.text == "IRO told by phone", tid
    # Every request was answered 2xx (a retry answered as the first attempt would have:
    # each action's event is there once, above).
    assert sorted(answers) == sorted(stages(store)) and all(
        len(mine) == 1 + len(LIFECYCLE) for mine in answers.values())
    cut_off = await cut_off_deliveries(temporal, sorted(answers))
    repeated = repeated_emails(smtp.box, cut_off)
    state = check_store(store, mailbox=smtp.box.first_copies())
    assert len(state.notifications) == TRANSFERS * EMAILS_PER_TRANSFER
    assert len(smtp.box.keys()) == TRANSFERS * EMAILS_PER_TRANSFER

    cost = await history_counts(temporal, sorted(answers))
    retries = sum(1 for mine in answers.values() for answer in mine if answer.attempts > 1)
    print(f"\n(a) {TRANSFERS} transfers, {TRANSFERS * (1 + len(LIFECYCLE))} requests "  # noqa: T201
          f"({retries} retried), {expected_events} events ({at_kill} before the kill), "
          f"{len(state.notifications)} emails ({len(cut_off)} deliveries cut off, "
          f"{len(repeated)} emails accepted twice); kill at {killed - began:.1f} s, worker back "
          f"{restarted - killed:.1f} s later, every answer {answered - killed:.1f} s and "
          f"every email {delivered - killed:.1f} s after the kill; {dict(cost)}")


# ---------------------------------------------------------------------------------------
# (b) stop the Temporal server while transfers wait on timers
# ---------------------------------------------------------------------------------------

FORCED = "faultshire"  # Gateshead's SGCP -> LAC, with the deadline in hours forcing the move
DEADLINE_HOURS = 72


def write_protocols(folder: Path) -> Path:
    """The shipped protocols, plus `faultshire`: Gateshead's SGCP -> LAC whose deadline is
    counted in hours (so it can fall due seconds from now on any day of the week) and,
    when missed, moves the case (`transfer: true`) after emailing the managers."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in (ROOT / "protocols").glob("*.yaml"):
        (folder / source.name).write_text(source.read_text())
    raw = yaml.safe_load((ROOT / "protocols" / "gateshead.yaml").read_text())
    raw["authority"] = FORCED
    raw.pop("weekly_meeting", None)
    raw["pathways"] = {"sgcp-to-lac": raw["pathways"]["sgcp-to-lac"]}
    deadline = raw["pathways"]["sgcp-to-lac"]["deadlines"]["transfer_by"]
    deadline["title"] = f"Transfer within {DEADLINE_HOURS} hours of the TM discussion"
    deadline["within"] = f"{DEADLINE_HOURS} hours"
    deadline["on_breach"].append({"transfer": True})
    (folder / f"{FORCED}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder



# Transfers of both kinds wait on timers due LEAD seconds after they start: long enough to
# start them all, take their first actions and stop the server before anything is due.
LEAD = timedelta(seconds=12)
PER_KIND = 5
HUB = "safeguarding_hub"


def timers_fired(history_events: Any) -> int:
    return sum(1 for e in history_events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED)


@pytest.mark.timeout(240)
async def test_temporal_restart_keeps_timers(make_stack: StackFactory, smtp: SmtpServer,
                                             tmp_path: Path) -> None:
    stack = make_stack(env={"PROTOCOLS_DIR": str(write_protocols(tmp_path / "protocols"))})
    store = make_engine(stack.database_url)
    managers = Managers(stack.api_url)
    try:
        await _restart_temporal_while_timers_wait(stack, smtp, store, managers)
    finally:
        await managers.aclose()
        store.dispose()


async def _restart_temporal_while_timers_wait(stack: Stack, smtp: SmtpServer,
                                              store: sqlalchemy.Engine, managers: Managers
                                              ) -> None:
    now = datetime.now(UTC)
    due = now + LEAD
    forced = [f"transfer-{FORCED}-F{i}" for i in range(PER_KIND)]
    hub = [f"transfer-{HUB}-H{i}" for i in range(PER_KIND)]

    async def act(tid: str, action: str, who: str, body: dict[str, Any] | None = None) -> None:
        authority = tid.split("-")[1]
        answer = await managers.send("POST", f"/transfers/{tid}/actions/{action}",
                                     f"{authority}-{who}", key=f"{tid}-{action}", json=body)
        assert answer.status == 200, (tid, action, answer)

    async def open_forced(i: int) -> None:
        # 72 hours after the TM discussion is LEAD from now; every requirement but the
        # child's legal status is met, so the breach emails the Service Manager too and moves
        # the case (the transfer meeting's 10 working days are not up yet).
        answer = await managers.send("POST", "/transfers", f"{FORCED}-sgcp-tm",
                                     key=f"start-F{i}", json={
                                         "authority": FORCED, "pathway": "sgcp-to-lac",
                                         "case_id": f"F{i}",
                                         "anchor_at": (due - timedelta(hours=DEADLINE_HOURS))
                                         .isoformat()})
        assert answer.status == 201, answer
        tid = forced[i]
        await act(tid, "authorise-summary", "sgcp-tm")
        await act(tid, "complete-checklist", "sgcp-tm", {"items": CHECKLIST})
        await act(tid, "inform-iro", "sgcp-sw")

    async def open_hub(i: int) -> None:
        # Safeguarding Hub, immediate safety: sent within 3 hours of the contact.
        answer = await managers.send("POST", "/transfers", f"{HUB}-hub-tm", key=f"start-H{i}",
                                     json={"authority": HUB,
                                           "pathway": "hub-to-s-and-p-immediate-safety",
                                           "case_id": f"H{i}",
                                           "anchor_at": (due - timedelta(hours=3)).isoformat()})
        assert answer.status == 201, answer

    await asyncio.gather(*[open_forced(i) for i in range(PER_KIND)],
                         *[open_hub(i) for i in range(PER_KIND)])
    # Parked: every transfer open, its emails so far delivered, nothing due yet.
    await until(lambda: all_sent(store) and len(notifications(store)) == 2 * PER_KIND,
                bool, timeout=30, what="the start emails delivered")
    kinds = {tid: [e.kind for e in trail] for tid, trail in events_by_transfer(store).items()}
    assert not any("deadline_missed" in k for k in kinds.values()), kinds
    worker_pid = stack.pid("worker")

    stopping = datetime.now(UTC)
    assert stopping < due - timedelta(seconds=2), (
        f"too slow to set up: the timers are due at {due}, it is {stopping}")
    await asyncio.to_thread(stack.stop_temporal)
    stopped = datetime.now(UTC)
    await asyncio.to_thread(stack.start_temporal)
    restarted = datetime.now(UTC)

    # The timers fire: breach emails arrive, the faultshire cases move by themselves.
    def breached() -> dict[str, list[str]]:
        return {tid: [e.kind for e in trail] for tid, trail in events_by_transfer(store).items()}

    await until(breached, lambda k: all("deadline_missed" in k[t] for t in forced + hub)
                and all("transferred" in k[t] for t in forced), timeout=60,
                what="every deadline breached and every faultshire case transferred")
    # started (1) + breach to both TMs and the SM (3) + transferred to both TMs (2) for
    # faultshire; started (1) + breach to the Hub TM, S&P TM and Hub SM (3) for the Hub.
    await until(lambda: all_sent(store) and len(notifications(store)) == PER_KIND * (6 + 4),
                bool, timeout=60, what="the breach and transfer emails delivered")
    fired = datetime.now(UTC)
    assert stack.pid("worker") == worker_pid, "the worker rode out the outage"
    assert stages(store) == {**{t: "transferred" for t in forced},
                             **{t: "proposed" for t in hub}}
    breach_mail = [at for (_, m), at in zip(smtp.box.messages, smtp.box.accepted_at,
                                            strict=True)
                   if "deadline missed" in str(m["Subject"])]
    assert len(breach_mail) == 2 * PER_KIND * 3
    assert min(breach_mail) >= due, "no breach before its due time"

    # The rest of their lives goes on as usual.
    async def finish_forced(tid: str) -> None:
        await act(tid, "allocate", "lac-tm", {"worker_id": "W1"})

    async def finish_hub(tid: str) -> None:
        await act(tid, "record-rag-rating", "hub-sw")
        await act(tid, "send-to-team", "hub-tm")
        await act(tid, "allocate", "s_and_p-tm", {"worker_id": "W2"})

    await asyncio.gather(*[finish_forced(t) for t in forced], *[finish_hub(t) for t in hub])
    # + allocated (1) for faultshire; + transferred (2) and allocated (1) for the Hub.
    await until(lambda: all_sent(store) and len(notifications(store)) == PER_KIND * (7 + 7),
                bool, timeout=60, what="every email delivered")
    # The Hub's cases have no duty after the transfer: allocated, they close.
    assert stages(store) == {**{t: "allocated" for t in forced}, **{t: "closed" for t in hub}}
    for tid, trail in events_by_transfer(store).items():
        assert [e.kind for e in trail].count("deadline_missed") == 1, tid
    state = check_store(store, mailbox=smtp.box)
    assert len(smtp.box.messages) == len(state.notifications) == PER_KIND * 14

    async with asyncio.timeout(30):
        client = await Client.connect(stack.temporal_address)
        for tid in forced + hub:
            history = await client.get_workflow_handle(tid).fetch_history()
            assert timers_fired(history.events) >= 1, tid
    print(f"\n(b) {2 * PER_KIND} transfers waiting on timers due {LEAD.seconds} s after "  # noqa: T201
          f"their start; server stopped {(stopped - stopping).total_seconds():.1f} s "
          f"(SIGTERM), back {(restarted - stopped).total_seconds():.1f} s later, "
          f"{(due - restarted).total_seconds():+.1f} s before the timers were due; breach "
          f"emails accepted {(min(breach_mail) - due).total_seconds():.1f}"
          f"-{(max(breach_mail) - due).total_seconds():.1f} s after the due time, all "
          f"effects delivered {(fired - due).total_seconds():.1f} s after it; "
          f"{len(state.notifications)} emails, each accepted once")
