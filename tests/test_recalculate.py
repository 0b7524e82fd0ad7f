"""Recalculating running transfers' deadlines: the workflow's `recalculate` Update and the CLI.

On the time-skipping server: a closure day proclaimed before Christmas moves the
Gateshead deadline and the default agreed transfer date by one working day, is
recorded and emailed once; an extended deadline stays put; a corrected pathway
is applied, or refused if it changes the teams. On the dev server: the CLI's
core finds an authority's running transfers through visibility and updates them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.outbox import SmtpConfig
from activities.working_days import due_at, non_working_dates
from api.starting import open_transfer
from models.days import add_working_days
from models.protocol import (
    Calendar,
    Deadline,
    Duration,
    DurationUnit,
    Pathway,
    Protocol,
    Role,
    RoleRef,
    Side,
)
from models.transfer import Actor, DeadlineChange, DeadlineStatus, Recalculation, TransferView
from ops.recalculate import Result, recalculate_all, run
from tests.dates import Scene
from tests.mail import Mailbox
from tests.scenario import PROTOCOLS, deadline, mail
from tests.transfers import (
    GATESHEAD,
    SGCP_TM,
    SGCP_TO_LAC,
    events,
    eventually,
    keep_history,
    outbox,
    skip_to,
    start,
)
from worker import ACTIVITY_THREADS, build_worker
from workflows.case_transfer import CaseTransferWorkflow

LONDON = ZoneInfo("Europe/London")
SGCP_SM = Actor(staff_id="gateshead-sgcp-sm", role=Role.service_manager, team="sgcp")
TEAM_MANAGERS = [mail("gateshead", "sgcp-tm"), mail("gateshead", "lac-tm")]
RECALCULATED = "deadlines recalculated"

# A TM discussion on the Friday before Christmas, its 10th working day after (bank holidays
# skipped, worked out by hand), and the same when the Christmas Eve that follows is closed;
# each at the first Christmas after today that falls on the same day (tests.dates.Scene).
FRIDAY = Scene("Christmas on a Friday (2026)", ((date(2026, 12, 18), date(2027, 1, 8)),),
               holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)))
SATURDAY = Scene("Christmas on a Saturday (2027)", ((date(2027, 12, 17), date(2028, 1, 7)),),
                 holidays=(date(2027, 12, 27), date(2027, 12, 28), date(2028, 1, 3)))
CHRISTMAS = {
    # Fri 18 Dec 2026: skipping 25 Dec, 28 Dec (Boxing Day substitute) and 1 Jan 2027.
    "christmas-on-a-friday": (FRIDAY.local(2026, 12, 18, 10), FRIDAY.day(2026, 12, 24),
                              FRIDAY.utc(2027, 1, 6, 17), FRIDAY.utc(2027, 1, 7, 17)),
    # Fri 17 Dec 2027: skipping 27 and 28 Dec (substitutes) and 3 Jan 2028 (substitute).
    "christmas-on-a-saturday": (SATURDAY.local(2027, 12, 17, 10), SATURDAY.day(2027, 12, 24),
                                SATURDAY.utc(2028, 1, 5, 17), SATURDAY.utc(2028, 1, 6, 17)),
}


async def christmas(env: WorkflowEnvironment, kind: str = "christmas-on-a-friday"
                    ) -> tuple[datetime, date, datetime, datetime]:
    """The case, with the server's clock moved to its TM discussion (a transfer starts when it
    is recorded, not years ahead of its anchor: its calendar is frozen from that year)."""
    case = CHRISTMAS[kind]
    await skip_to(env, case[0])
    return case


def closed(*days: date) -> Calendar:
    return GATESHEAD.calendar.model_copy(update={"closure_days": list(days)})


def request(reason: str, **changes: Any) -> Recalculation:
    """The Update's argument: the reason itself stays in the case store; only a ref is sent."""
    del reason
    return Recalculation(note_ref=f"note-{uuid.uuid4().hex}", requested_by=SGCP_SM.staff_id,
                         actor=SGCP_SM, **changes)


def with_deadline(pathway: Pathway, name: str, **changes: Any) -> Pathway:
    deadlines = dict(pathway.deadlines)
    deadlines[name] = deadlines[name].model_copy(update=changes)
    return pathway.model_copy(update={"deadlines": deadlines})


def with_pathway(protocol: Protocol, pathway_id: str, pathway: Pathway) -> Protocol:
    return protocol.model_copy(update={"pathways": {**protocol.pathways, pathway_id: pathway}})


def extendable_with_summary_by() -> Pathway:
    """SGCP → LAC where transfer_by may be extended, with a second clock: the summary in 5 days."""
    summary_by = Deadline.model_validate({
        "title": "Summary authorised within 5 working days", "from": "anchor",
        "within": "5 working days", "met_when": "summary_authorised",
        "on_breach": [{"notify": "team_manager@from"}]})
    pathway = with_deadline(SGCP_TO_LAC, "transfer_by",
                            extend_by=[RoleRef(role=Role.service_manager, side=Side.sending)])
    return pathway.model_copy(update={"deadlines": {**pathway.deadlines,
                                                    "summary_by": summary_by}})


async def recalculate(handle: Any, req: Recalculation) -> TransferView:
    result: TransferView = await handle.execute_update(CaseTransferWorkflow.recalculate, req,
                                                       id=str(uuid.uuid4()))
    return result


# ----- the Update itself, on the time-skipping server ------------------------------------------


@pytest.mark.parametrize("kind", list(CHRISTMAS))
async def test_a_proclaimed_closure_day_moves_the_deadline_and_the_default_transfer_date(
        ts_env, worker, directory_engine, mailbox: Mailbox, kind):
    anchor, closure, due, moved = await christmas(ts_env, kind)
    handle, view = await start(ts_env.client, worker, anchor)
    assert deadline(view, "transfer_by").due_at == due
    assert view.transfer_date == due

    reason = f"Christmas Eve {closure.year} declared a closure day"
    req = request(reason, calendar=closed(closure))
    view = await recalculate(handle, req)

    transfer_by = deadline(view, "transfer_by")
    assert transfer_by.due_at == moved
    assert transfer_by.due_local == f"{moved:%a} {moved.day} {moved:%b %Y} 17:00 GMT"
    assert transfer_by.status is DeadlineStatus.pending
    assert view.transfer_date == moved
    assert deadline(view, "transfer_date").due_at == moved

    before, after = f"{due:%a} {due.day} {due:%b %Y} 17:00 GMT", transfer_by.due_local
    recorded = [e for e in events(directory_engine, view.run_id) if e.kind == "recalculated"]
    assert len(recorded) == 1
    assert recorded[0].note_ref == req.note_ref
    assert "see the note" in recorded[0].summary and "Christmas" not in recorded[0].summary
    assert "gateshead-sgcp-sm" in recorded[0].summary
    assert f"{transfer_by.title}: {before} → {after}" in recorded[0].summary

    # The same calendar again moves nothing: recorded, but nobody is emailed a second time.
    view = await recalculate(handle, request("checked again", calendar=closed(closure)))
    assert deadline(view, "transfer_by").due_at == moved
    recorded = [e for e in events(directory_engine, view.run_id) if e.kind == "recalculated"]
    assert [e.summary.endswith("no change") for e in recorded] == [False, True]
    emails = [n for n in outbox(directory_engine, view.run_id) if RECALCULATED in n.subject]
    assert sorted(n.email for n in emails) == sorted(TEAM_MANAGERS)
    def recalculations(address: str) -> list[str]:
        return [s for s in mailbox.subjects(address) if RECALCULATED in s]

    for address in TEAM_MANAGERS:
        received = await eventually(partial(recalculations, address), bool)
        assert received == [f"[gateshead] Case C1: {RECALCULATED}"]
        message = mailbox.to(address)[-1]
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes)
        assert f"{before} → {after}" in body.decode()
    await asyncio.sleep(0.3)
    assert [len(recalculations(a)) for a in TEAM_MANAGERS] == [1, 1]
    await handle.terminate("test over")
    if kind == next(iter(CHRISTMAS)):  # the replay tests' history of today's path
        await keep_history(handle, "checked-asker/gateshead/sgcp-to-lac--recalculated")


async def test_an_extended_deadline_is_not_moved(ts_env, worker, directory_engine):
    anchor, closure, due, moved = await christmas(ts_env)
    opened = await open_transfer(
        ts_env.client, task_queue=worker.task_queue,
        protocol=with_pathway(GATESHEAD, "sgcp-to-lac", extendable_with_summary_by()),
        pathway_id="sgcp-to-lac",
        case_id="C2", children=["C2"], anchor_at=anchor, agreed_transfer_date=None,
        started_by=SGCP_TM, request_id=str(uuid.uuid4()))
    handle = ts_env.client.get_workflow_handle_for(CaseTransferWorkflow.run,
                                                   opened.view.transfer_id)
    summary_due = deadline(opened.view, "summary_by").due_at
    extended_to = moved.date() + timedelta(days=1)
    view = await handle.execute_update(CaseTransferWorkflow.change_deadline, DeadlineChange(
        kind="extend", deadline="transfer_by", actor=SGCP_SM, until=extended_to,
        note_ref="note-extension"), id=str(uuid.uuid4()))
    extended = deadline(view, "transfer_by")
    assert extended.extended and extended.due_at.date() == extended_to

    view = await recalculate(handle, request("closure day", calendar=closed(closure)))
    assert deadline(view, "transfer_by").due_at == extended.due_at
    assert deadline(view, "transfer_by").due_local == extended.due_local
    # The summary's 5th working day was in the same week as the closure: it moved by a day.
    assert deadline(view, "summary_by").due_at > summary_due
    recorded = [e for e in events(directory_engine, view.run_id) if e.kind == "recalculated"]
    assert "Summary authorised within 5 working days" in recorded[-1].summary
    assert "Transfer within 10 working days" not in recorded[-1].summary
    await handle.terminate("test over")


async def test_a_reason_sent_as_text_is_refused(ts_env, worker):
    """The reason stays in the case store: a request carrying it as text (or no note ref)
    is refused before anything is recorded."""
    anchor, _, _, _ = await christmas(ts_env)
    handle, _ = await start(ts_env.client, worker, anchor)
    for req in (Recalculation(reason="Jessamy Quillfeather's school", note_ref="n-1",
                              requested_by="gateshead-sgcp-sm"),
                Recalculation(requested_by="gateshead-sgcp-sm")):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await recalculate(handle, req)
        assert isinstance(refused.value.cause, ApplicationError)
        assert (refused.value.cause.type, refused.value.cause.message) == (
            "InvalidInput", "Keep the reason in the case store and send its note_ref, never "
                            "the text")
    await handle.terminate("test over")


async def test_a_corrected_pathway_is_applied_and_one_that_changes_teams_refused(
        ts_env, worker, directory_engine):
    anchor, _, due, _ = await christmas(ts_env)
    handle, view = await start(ts_env.client, worker, anchor)
    twelve = with_deadline(SGCP_TO_LAC, "transfer_by",
                           within=Duration(amount=12, unit=DurationUnit.working_days))
    corrected = with_pathway(GATESHEAD, "sgcp-to-lac", twelve)

    results = await recalculate_all(
        ts_env.client, directory_engine, authority="gateshead",
        reason="Timescale corrected to 12 working days",
        requested_by=SGCP_SM, protocol=corrected, use_calendar=False,
        use_pathway=True, transfer_id=handle.id)
    assert [r.result for r in results] == [Result.changed]
    (move,) = results[0].moves[:1]
    assert (move.deadline, move.before) == ("transfer_by", f"{due:%a} {due.day} {due:%b %Y} "
                                                           "17:00 GMT")
    twelfth = due + timedelta(days=2)  # Wed → Fri
    view = await handle.query(CaseTransferWorkflow.view)
    assert deadline(view, "transfer_by").due_at == twelfth
    assert view.transfer_date == twelfth

    elsewhere = SGCP_TO_LAC.model_copy(update={"receiving": "a_and_i"})
    results = await recalculate_all(
        ts_env.client, directory_engine, authority="gateshead", reason="wrong file",
        requested_by=SGCP_SM,
        protocol=with_pathway(GATESHEAD, "sgcp-to-lac", elsewhere), use_calendar=False,
        use_pathway=True, transfer_id=handle.id)
    assert [(r.result, r.message) for r in results] == [
        (Result.refused, "A corrected pathway must keep its teams")]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await recalculate(handle, request("wrong file", pathway=elsewhere))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "InvalidInput"
    assert deadline(await handle.query(CaseTransferWorkflow.view), "transfer_by").due_at \
        == twelfth
    await handle.terminate("test over")


async def test_a_recalculation_that_moves_nothing_keeps_the_transfer_date(
        ts_env, worker, directory_engine):
    anchor, _, due, _ = await christmas(ts_env)
    opened = await open_transfer(
        ts_env.client, task_queue=worker.task_queue,
        protocol=with_pathway(GATESHEAD, "sgcp-to-lac", extendable_with_summary_by()),
        pathway_id="sgcp-to-lac", case_id="C3", children=["C3"], anchor_at=anchor,
        agreed_transfer_date=None,
        started_by=SGCP_TM, request_id=str(uuid.uuid4()))
    handle = ts_env.client.get_workflow_handle_for(CaseTransferWorkflow.run,
                                                   opened.view.transfer_id)
    extended = await handle.execute_update(CaseTransferWorkflow.change_deadline, DeadlineChange(
        kind="extend", deadline="transfer_by", actor=SGCP_SM,
        until=due.date() + timedelta(days=2), note_ref="note-extension"), id=str(uuid.uuid4()))
    assert extended.transfer_date == due  # the extension leaves the agreed date alone
    try:
        view = await asyncio.wait_for(recalculate(handle, request("nothing new")), 15)
    finally:
        await handle.terminate("test over")
    recorded = [e for e in events(directory_engine, view.run_id) if e.kind == "recalculated"]
    assert recorded[-1].summary.endswith("no change")
    assert view.transfer_date == due


async def test_recalculating_an_overdue_transfer_answers(ts_env, worker, directory_engine):
    now = await ts_env.get_current_time()
    handle, view = await start(ts_env.client, worker, now - timedelta(days=21))
    view = await eventually_view(handle, lambda v: v.overdue)
    missed = deadline(view, "transfer_by")
    try:
        view = await asyncio.wait_for(recalculate(handle, request("new bank holiday")), 15)
    finally:
        await handle.terminate("test over")
    assert deadline(view, "transfer_by") == missed
    recorded = [e for e in events(directory_engine, view.run_id) if e.kind == "recalculated"]
    assert recorded[-1].summary.endswith("no change")


async def eventually_view(handle: Any, until: Callable[[TransferView], bool]) -> TransferView:
    for _ in range(200):
        view: TransferView = await handle.query(CaseTransferWorkflow.view)
        if until(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached: {view}")


# ----- the command line -----------------------------------------------------------------------


async def test_nothing_is_sent_for_a_malformed_or_missing_protocol_file(tmp_path, capsys):
    text = (Path(__file__).parent.parent / "protocols" / "gateshead.yaml").read_text("utf-8")
    (tmp_path / "gateshead.yaml").write_text(text.replace("10 working days\n", "ten days\n"),
                                             encoding="utf-8")
    common = ["--reason", "closure day", "--by", "gateshead-sgcp-sm",
              "--protocols-dir", str(tmp_path), "--calendar-from-protocol"]
    # No Temporal is needed: it stops before connecting.
    assert await run(["--authority", "gateshead", *common]) == 2
    err = capsys.readouterr().err
    assert "the protocol file is malformed, so nothing was sent" in err
    assert "pathways.sgcp-to-lac.deadlines.transfer_by.within: 'ten days'" in err
    assert await run(["--authority", "nowhere", *common]) == 2
    assert "no protocol file for nowhere" in capsys.readouterr().err


async def test_bad_arguments_are_refused_before_any_transfer_is_touched():
    no_client = cast(Client, None)  # never reached: the arguments are checked first
    gateshead: dict[str, Any] = {"authority": "gateshead", "protocol": PROTOCOLS["gateshead"]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"requested_by": Actor.model_construct(staff_id="not an id!", role=Role.director,
                                                team="sgcp")}, "requested_by"),
        ({"reason": "x" * 201}, "reason"),
        ({"protocol": PROTOCOLS["st_helens"]}, "not gateshead's"),
        ({"authority": "x' OR 'a' = 'a"}, "not an authority name"),
    ]
    for changes, problem in cases:
        kwargs: dict[str, Any] = {**gateshead, "reason": "closure day",
                                  "requested_by": SGCP_SM, **changes}
        with pytest.raises(ValueError, match=problem):
            await recalculate_all(no_client, cast(Engine, None), use_calendar=True,
                                  use_pathway=False, **kwargs)


# ----- the CLI's core, on the dev server (visibility) -----------------------------------------



async def listed(client: Client, query: str, expected: int) -> list[str]:
    """Visibility is eventually consistent: ask again until it lists what was started."""
    ids: list[str] = []
    for _ in range(150):
        ids = [w.id async for w in client.list_workflows(query)]
        if len(ids) >= expected:
            break
        await asyncio.sleep(0.1)
    return sorted(ids)


async def test_recalculate_all_updates_the_authoritys_running_transfers(
        dev_env, directory_engine, mailbox, capsys):
    client = dev_env.client
    smtp = SmtpConfig(host="127.0.0.1", port=mailbox.port, username="", password="",
                      starttls=False, mail_from="x@test.example")
    # A second Gateshead pathway (to A&I), to show one transfer refusing while others go on.
    to_a_and_i = SGCP_TO_LAC.model_copy(update={"receiving": "a_and_i",
                                                "title": "SGCP to A&I"})
    started_with = with_pathway(GATESHEAD, "sgcp-to-a-and-i", to_a_and_i)
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        worker = build_worker(client, task_queue=f"tq-{uuid.uuid4()}", engine=directory_engine,
                              smtp=smtp, executor=executor)
        async with worker:
            anchor = datetime.now(UTC)
            tag = uuid.uuid4().hex[:6]
            lac = [await start(client, worker, anchor, case_id=f"C{tag}{n}") for n in (1, 2)]
            opened = await open_transfer(
                client, task_queue=worker.task_queue, protocol=started_with,
                pathway_id="sgcp-to-a-and-i", case_id=f"C{tag}3", children=[f"C{tag}3"],
                anchor_at=anchor, agreed_transfer_date=None, started_by=SGCP_TM,
                request_id=str(uuid.uuid4()))
            nottingham = PROTOCOLS["nottingham"]
            other = await open_transfer(
                client, task_queue=worker.task_queue, protocol=nottingham,
                pathway_id="fieldwork-to-cic", case_id=f"C{tag}4", children=[f"C{tag}4"],
                anchor_at=anchor, agreed_transfer_date=None,
                started_by=Actor(staff_id="nottingham-fieldwork-tm", role=Role.team_manager,
                                 team="fieldwork"), request_id=str(uuid.uuid4()))
            # An overdue transfer: nothing left to re-plan, but the new calendar is applied.
            overdue, _ = await start(client, worker, anchor - timedelta(days=21),
                                     case_id=f"C{tag}5")
            await eventually_view(overdue, lambda v: v.overdue)
            handles = [h for h, _ in lac]
            gateshead_ids = sorted([*(h.id for h in handles), opened.view.transfer_id,
                                    overdue.id])
            query = "Authority = 'gateshead' AND ExecutionStatus = 'Running'"
            assert await listed(client, query, 4) == gateshead_ids

            # The file now closes the first working day after the anchor, and (by mistake)
            # sends the A&I pathway to Early Help: that transfer must refuse, the rest go on.
            first = add_working_days(anchor.astimezone(LONDON).date(), 1, frozenset(
                non_working_dates(GATESHEAD.calendar, range(anchor.year, anchor.year + 2))))
            calendar = closed(first)
            now_in_file = with_pathway(
                GATESHEAD.model_copy(update={"calendar": calendar}), "sgcp-to-a-and-i",
                to_a_and_i.model_copy(update={"receiving": "early_help"}))
            within = SGCP_TO_LAC.deadlines["transfer_by"].within
            years = range(anchor.year, anchor.year + 2)
            before = due_at(anchor, within, GATESHEAD.calendar,
                            frozenset(non_working_dates(GATESHEAD.calendar, years)))
            after = due_at(anchor, within, calendar,
                           frozenset(non_working_dates(calendar, years)))
            assert after > before

            results = await recalculate_all(
                client, directory_engine, authority="gateshead",
                reason=f"{first} declared a closure day",
                requested_by=SGCP_SM, protocol=now_in_file, use_calendar=True,
                use_pathway=True)
            by_id = {r.transfer_id: r for r in results}
            assert sorted(by_id) == gateshead_ids
            for handle in handles:
                done = by_id[handle.id]
                assert done.result is Result.changed, done
                assert {"transfer_by", "transfer_date"} <= {m.deadline for m in done.moves}
                view = await handle.query(CaseTransferWorkflow.view)
                assert deadline(view, "transfer_by").due_at == after
                assert any(e.kind == "recalculated"
                           for e in events(directory_engine, view.run_id))
            refused = by_id[opened.view.transfer_id]
            assert (refused.result, refused.message) == (
                Result.refused, "A corrected pathway must keep its teams")
            a_and_i = await client.get_workflow_handle(opened.view.transfer_id).query(
                CaseTransferWorkflow.view)
            assert deadline(a_and_i, "transfer_by").due_at == before
            assert by_id[overdue.id].result is Result.unchanged
            untouched = await client.get_workflow_handle(other.view.transfer_id).query(
                CaseTransferWorkflow.view)
            assert not any(e.kind == "recalculated"
                           for e in events(directory_engine, untouched.run_id))

            # The command line: one transfer, by id; the calendar is already applied.
            code = await run(["--authority", "gateshead", "--reason", "checked",
                              "--by", "gateshead-sgcp-sm", "--transfer", handles[0].id],
                             client=client, engine=directory_engine)
            out = capsys.readouterr().out
            assert code == 0
            assert f"{handles[0].id} (sgcp-to-lac, proposed): recalculated, no deadline moved" \
                in out
            assert "1 running transfer(s) of gateshead: 0 changed, 1 unchanged" in out

            for handle in [*handles, overdue, client.get_workflow_handle(opened.view.transfer_id),
                           client.get_workflow_handle(other.view.transfer_id)]:
                await handle.terminate("test over")
