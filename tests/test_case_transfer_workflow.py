"""Seed 000's rules for SGCP → LAC, on the time-skipping server with the real activities.

Deadlines are checked to the minute by moving the server's clock, never by
sleeping. Emails are checked as they arrive at a real SMTP server.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.working_days import non_working_dates
from api.starting import open_transfer
from models import search_attributes as sa
from models.days import add_working_days
from models.transfer import (
    AllocateAction,
    DeadlineStatus,
    DutyAction,
    GateAction,
    Stage,
    TransferDateAction,
    WithdrawAction,
)
from tests.dates import Scene
from tests.transfers import (
    CHECKLIST,
    GATESHEAD,
    LAC_SW,
    LAC_TM,
    SGCP_SW,
    SGCP_TM,
    events,
    eventually,
    gate,
    keep_history,
    outbox,
    requirements,
    requirements_but_the_legal_status,
    skip_to,
    start,
    wait_for_stage,
)
from workflows.case_transfer import CaseTransferWorkflow

LONDON = ZoneInfo("Europe/London")
SM = "gateshead-sgcp-sm@gateshead.example"
LAC_TM_MAIL = "gateshead-lac-tm@gateshead.example"

# TM discussions a little before Christmas, with the 10th working day after each worked out
# by hand from the England & Wales bank holidays (substitute days included): one for each
# way Christmas falls here. Each runs at the first Christmas after today that falls the same
# way (tests.dates.Scene), so the cases never run out.
CHRISTMAS_CASES = [
    # Fri 18 Dec 2026: 25 Dec, 28 Dec (Boxing Day substitute) and 1 Jan are skipped.
    pytest.param(Scene("Christmas on a Friday (2026)", ((date(2026, 12, 18), date(2027, 1, 16)),),
                       holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1))),
                 (2026, 12, 18), (2027, 1, 6), id="christmas-on-a-friday"),
    # Fri 17 Dec 2027: 27 and 28 Dec (substitutes) and 3 Jan 2028 (substitute) are skipped.
    pytest.param(Scene("Christmas on a Saturday (2027)",
                       ((date(2027, 12, 17), date(2028, 1, 15)),),
                       holidays=(date(2027, 12, 27), date(2027, 12, 28), date(2028, 1, 3))),
                 (2027, 12, 17), (2028, 1, 5), id="christmas-on-a-saturday"),
    # Fri 15 Dec 2028: 25, 26 Dec and 1 Jan 2029 are skipped.
    pytest.param(Scene("Christmas on a Monday (2028)", ((date(2028, 12, 15), date(2029, 1, 13)),),
                       holidays=(date(2028, 12, 25), date(2028, 12, 26), date(2029, 1, 1))),
                 (2028, 12, 15), (2029, 1, 3), id="christmas-on-a-monday"),
]

# Mon 14 Dec 2026 10:00: its 10th working day skips Fri 25 and Mon 28 Dec (Boxing Day's
# substitute): Tue 15 (1) ... Thu 24 (8), Tue 29 (9), Wed 30 Dec 2026 (10), 17:00 GMT.
CHRISTMAS_2026 = Scene("Christmas 2026", ((date(2026, 12, 13), date(2027, 1, 4)),),
                       holidays=(date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)))


def by_id(view, deadline_id):
    return next(d for d in view.deadlines if d.id == deadline_id)


@pytest.mark.parametrize(("christmas", "discussed", "tenth"), CHRISTMAS_CASES)
async def test_overdue_transfer_across_bank_holidays_emails_service_manager_once(
        ts_env, worker, directory_engine, mailbox, christmas, discussed, tenth):
    anchor, due = christmas.local(*discussed, 10), christmas.utc(*tenth, 17)
    await skip_to(ts_env, anchor)
    handle, view = await start(ts_env.client, worker, anchor)
    planned = by_id(view, "transfer_by")
    assert planned.due_at == due
    assert planned.due_local == f"{due:%a} {due.day} {due:%b %Y} 17:00 GMT"
    # The summary, the audit and the IRO told, but a section 20 case whose legal gateway
    # meeting has not concluded yet: it cannot transfer, and the Service Manager is due.
    await gate(handle, "record-section-20", SGCP_TM)
    await requirements_but_the_legal_status(handle)

    await skip_to(ts_env, due - timedelta(minutes=1))
    view = await handle.query(CaseTransferWorkflow.view)
    assert by_id(view, "transfer_by").status is DeadlineStatus.pending
    assert mailbox.to(SM) == []

    await skip_to(ts_env, due + timedelta(minutes=1))
    await eventually(lambda: mailbox.to(SM), lambda got: len(got) == 1)
    view = await handle.query(CaseTransferWorkflow.view)
    assert by_id(view, "transfer_by").status is DeadlineStatus.missed
    assert (view.stage, view.responsible_team) == (Stage.proposed, "sgcp")
    assert "deadline missed" in str(mailbox.to(SM)[0]["Subject"])
    described = await handle.describe()
    assert described.typed_search_attributes.get(sa.OVERDUE) is True

    # Ten more days pass: the Service Manager is not emailed again.
    await skip_to(ts_env, due + timedelta(days=10))
    view = await handle.query(CaseTransferWorkflow.view)
    assert len(mailbox.to(SM)) == 1
    missed = [e for e in events(directory_engine, view.run_id) if e.kind == "deadline_missed"
              and "Transfer within 10 working days" in e.summary]
    assert len(missed) == 1
    await keep_history(handle, "sgcp_to_lac_overdue_open")


async def test_service_manager_not_emailed_when_requirements_unmet(
        ts_env, worker, directory_engine, mailbox):
    anchor = await ts_env.get_current_time()
    handle, view = await start(ts_env.client, worker, anchor)
    await gate(handle, "authorise-summary", SGCP_TM)  # no checklist, no IRO informed
    await skip_to(ts_env, by_id(view, "transfer_by").due_at + timedelta(minutes=1))
    # The Team Managers hear the transfer is overdue; the Service Manager, per seed 000, not.
    await eventually(lambda: mailbox.to("gateshead-sgcp-tm@gateshead.example"),
                     lambda got: any("deadline missed" in str(m["Subject"]) for m in got))
    assert mailbox.to(SM) == []


async def test_case_transfers_on_agreed_date_without_the_meeting(
        ts_env, worker, directory_engine, mailbox):
    anchor = await ts_env.get_current_time()
    handle, view = await start(ts_env.client, worker, anchor)
    agreed_at = view.transfer_date
    assert agreed_at == by_id(view, "transfer_by").due_at  # default: the 10th working day
    await requirements(handle)
    view = await handle.query(CaseTransferWorkflow.view)
    assert (view.stage, view.responsible_team) == (Stage.ready, "sgcp")

    await skip_to(ts_env, agreed_at - timedelta(minutes=1))
    view = await handle.query(CaseTransferWorkflow.view)
    assert (view.stage, view.responsible_team) == (Stage.ready, "sgcp")

    await skip_to(ts_env, agreed_at + timedelta(minutes=1))
    view = await wait_for_stage(handle, Stage.transferred)
    assert view.responsible_team == "lac"
    assert view.transferred_at is not None and view.transferred_at >= agreed_at
    assert by_id(view, "transfer_by").status is DeadlineStatus.met
    trail = events(directory_engine, view.run_id)
    transferred = next(e for e in trail if e.kind == "transferred")
    assert "on the agreed date" in transferred.summary
    assert "not recorded before the transfer: " in transferred.summary
    assert "Transfer meeting with the child" in transferred.summary.split("not recorded")[1]
    # Responsibility stayed with SGCP in every change before the transfer instant.
    assert {e.stage for e in trail if e.seq < transferred.seq} <= {"proposed", "ready"}
    assert mailbox.to(SM) == []

    view = await handle.execute_update(
        CaseTransferWorkflow.allocate, AllocateAction(actor=LAC_TM, worker_id="W42"), id="alloc")
    assert (view.stage, view.allocated_worker) == (Stage.allocated, "W42")

    # Later Life Letters: due at the end of the day six weeks after the transfer.
    letters = by_id(view, "later_life_letters")
    assert view.transferred_at is not None
    transfer_day = view.transferred_at.astimezone(LONDON).date()
    assert letters.due_at == datetime.combine(transfer_day + timedelta(weeks=6),
                                              datetime.min.time().replace(hour=17), LONDON)
    await skip_to(ts_env, letters.due_at + timedelta(minutes=1))
    result = await handle.result()
    assert result.stage is Stage.closed
    assert by_id(result, "later_life_letters").status is DeadlineStatus.missed
    for who in ("gateshead-sgcp-sw", "gateshead-sgcp-tm"):
        reminders = [s for s in mailbox.subjects(f"{who}@gateshead.example")
                     if "Later Life Letters" in s]
        assert len(reminders) == 1
    assert all(n.sent_at is not None for n in outbox(directory_engine, result.run_id))
    await keep_history(handle, "sgcp_to_lac_transferred_closed")


async def test_late_last_requirement_transfers_at_once(ts_env, worker, directory_engine,
                                                        mailbox):
    # The TM discussion was three weeks ago: the deadline and the default date have passed.
    anchor = await ts_env.get_current_time() - timedelta(days=21)
    handle, _ = await start(ts_env.client, worker, anchor)
    await gate(handle, "record-meeting", LAC_SW, attendees=["child", "lac_social_worker"])
    await gate(handle, "record-care-order", SGCP_TM)
    await gate(handle, "authorise-summary", SGCP_TM)
    await gate(handle, "complete-checklist", SGCP_TM, items=CHECKLIST)
    view = await gate(handle, "inform-iro", SGCP_SW)  # the last requirement
    assert (view.stage, view.responsible_team) == (Stage.transferred, "lac")
    assert by_id(view, "transfer_by").status is DeadlineStatus.met_late
    assert not view.overdue
    transferred = next(e for e in events(directory_engine, view.run_id) if e.kind == "transferred")
    assert "after the agreed date" in transferred.summary
    assert "once the last thing holding it back was done" in transferred.summary
    late = await eventually(
        lambda: [s for s in mailbox.subjects(LAC_TM_MAIL)
                 if "deadline missed: Transfer within 10 working days" in s],
        lambda got: len(got) >= 1)
    assert len(late) == 1
    # The deadline passed before the requirements were met: seed 000 does not call the SM.
    assert mailbox.to(SM) == []


async def test_later_life_letters_done_in_time_closes_without_reminder(
        ts_env, worker, mailbox):
    anchor = await ts_env.get_current_time()
    # The transfer is agreed for the first working day after today (the next weekday may be
    # a bank holiday, which would be refused): chosen with the calendar, not asserted on.
    day0 = anchor.astimezone(LONDON).date()
    closed = frozenset(non_working_dates(GATESHEAD.calendar, range(day0.year, day0.year + 2)))
    handle, view = await start(ts_env.client, worker, anchor,
                               agreed=add_working_days(day0, 1, closed))
    await requirements(handle)
    await gate(handle, "record-meeting", LAC_SW, attendees=["child", "lac_social_worker"])
    assert view.transfer_date is not None
    await skip_to(ts_env, view.transfer_date + timedelta(minutes=1))
    await wait_for_stage(handle, Stage.transferred)
    await handle.execute_update(CaseTransferWorkflow.allocate,
                                AllocateAction(actor=LAC_TM, worker_id="W7"))
    view = await handle.execute_update(
        CaseTransferWorkflow.complete_duty,
        DutyAction(action="complete-later-life-letters", actor=SGCP_SW))
    result = await handle.result()
    assert result.stage is Stage.closed
    assert by_id(result, "later_life_letters").status is DeadlineStatus.met
    assert not any("Later Life Letters" in s
                   for s in mailbox.subjects("gateshead-sgcp-sw@gateshead.example"))


async def test_retried_requests_act_once(ts_env, worker, directory_engine, mailbox):
    anchor = await ts_env.get_current_time()
    handle, first = await start(ts_env.client, worker, anchor, request_id="req-1")
    _, again = await start(ts_env.client, worker, anchor, request_id="req-1")
    assert again.run_id == first.run_id
    one = await gate(handle, "authorise-summary", SGCP_TM, update_id="key-1")
    two = await gate(handle, "authorise-summary", SGCP_TM, update_id="key-1")
    assert one == two
    kinds = [e.kind for e in events(directory_engine, first.run_id)]
    assert kinds.count("started") == 1
    assert kinds.count("gate:summary_authorised") == 1
    # A new request for the same case finds the open transfer and says which request made it.
    other = await open_transfer(
        ts_env.client, task_queue=worker.task_queue, protocol=GATESHEAD,
        pathway_id="sgcp-to-lac", case_id="C1", children=["C1"], anchor_at=anchor,
        agreed_transfer_date=None, started_by=SGCP_TM, request_id="req-2")
    assert other.request_id == "req-1" and other.view.run_id == first.run_id


@pytest.mark.parametrize(("update", "arg", "kind", "words"), [
    ("complete_gate", lambda: _gate("authorise-summary", LAC_TM), "NotPermitted",
     "Only the Team Manager of sgcp"),
    ("complete_gate", lambda: _gate("record-meeting", SGCP_TM, attendees=["child"]),
     "NotPermitted", "Only the social worker of lac or Team Manager of lac"),
    ("complete_gate", lambda: _gate("complete-checklist", SGCP_TM, items=CHECKLIST[:2]),
     "InvalidInput", "Not confirmed: relationships_up_to_date"),
    ("complete_gate", lambda: _gate("record-meeting", LAC_SW, attendees=["grandmother"]),
     "InvalidInput", "Unknown attendees: grandmother"),
    ("complete_gate", lambda: _gate("approve", SGCP_TM), "InvalidInput",
     "'approve' is not an action"),
    ("allocate", lambda: AllocateAction(actor=LAC_TM, worker_id="W1"), "WrongStage",
     "Cannot allocate a worker now: the transfer is proposed"),
    ("complete_duty", lambda: DutyAction(action="complete-later-life-letters", actor=SGCP_SW),
     "WrongStage", "only after the transfer"),
    ("withdraw", lambda: WithdrawAction(actor=LAC_TM), "NotPermitted", "may withdraw"),
    ("set_transfer_date", lambda: TransferDateAction(actor=SGCP_TM,
                                                     transfer_date=date(2020, 1, 6)),
     "InvalidInput", "cannot be before"),
])
async def test_rejected_actions_say_why_and_leave_no_trace(
        ts_env, worker, directory_engine, update, arg, kind, words):
    handle, view = await start(ts_env.client, worker, await ts_env.get_current_time())
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(getattr(CaseTransferWorkflow, update), arg())
    got_kind, message = rejection(failure.value)
    assert got_kind == kind
    assert words in message
    assert [e.kind for e in events(directory_engine, view.run_id)] == ["started"]


async def test_transfer_date_must_be_a_working_day_before_the_deadline(ts_env, worker):
    anchor = CHRISTMAS_2026.local(2026, 12, 14, 10)
    await skip_to(ts_env, anchor)
    handle, view = await start(ts_env.client, worker, anchor)
    deadline = CHRISTMAS_2026.utc(2026, 12, 30, 17)
    assert by_id(view, "transfer_by").due_at == deadline
    day = CHRISTMAS_2026.day
    for refused, words in [
        (day(2026, 12, 13), "cannot be before"),          # Sunday, before the TM discussion
        (day(2026, 12, 19), "is not a working day"),      # Saturday
        (day(2026, 12, 25), "is not a working day"),      # Christmas Day
        (day(2026, 12, 28), "is not a working day"),      # Boxing Day's substitute
        (day(2026, 12, 31), "on or before"),              # a working day after the deadline
        (day(2027, 1, 4), "on or before"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await handle.execute_update(CaseTransferWorkflow.set_transfer_date,
                                        TransferDateAction(actor=SGCP_TM, transfer_date=refused))
        assert words in rejection(failure.value)[1], refused
    for agreed in (day(2026, 12, 29), day(2026, 12, 30)):  # working days, the last the deadline's
        view = await handle.execute_update(CaseTransferWorkflow.set_transfer_date,
                                           TransferDateAction(actor=SGCP_TM, transfer_date=agreed))
        assert view.transfer_date == datetime.combine(agreed, time(17), LONDON)


async def test_withdrawn_transfer_ends_with_sgcp_responsible(ts_env, worker, mailbox):
    handle, _ = await start(ts_env.client, worker, await ts_env.get_current_time())
    await handle.execute_update(CaseTransferWorkflow.withdraw, WithdrawAction(actor=SGCP_TM))
    result = await handle.result()
    assert (result.stage, result.responsible_team) == (Stage.withdrawn, "sgcp")
    await keep_history(handle, "sgcp_to_lac_withdrawn")
    await eventually(lambda: mailbox.subjects("gateshead-lac-tm@gateshead.example"),
                     lambda got: any("withdrawn" in s for s in got))


def _gate(action, actor, **fields):
    return GateAction(action=action, actor=actor, **fields)


def rejection(error: WorkflowUpdateFailedError) -> tuple[str | None, str]:
    assert isinstance(error.cause, ApplicationError)
    return error.cause.type, error.cause.message
