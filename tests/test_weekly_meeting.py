"""St Helens' weekly Case Transfer Meeting, run by a Temporal Schedule.

"The case transfer Quality Assurance template should be completed by the
transferring Team Manager and be filed with the Personal Assistant to the
Heads of Service by 10.00am every Monday morning. In the event of a Bank
Holiday papers should be submitted the nearest working day to the panel."
The meeting is chaired by the Heads of Service in turn.

- the papers-due instant on the protocol's calendar, and the chair's rota (pure);
- the agenda from the case store, and one outbox row however often it is retried;
- the workflow on the time-skipping server: started at 00:05 London time on the
  meeting day, it emails nobody before the papers are due and exactly one agenda
  to the week's chair after, listing exactly the transfers waiting for the meeting
  (Easter Monday moves the meeting to the Tuesday);
- the Schedule on the real dev server: the worker's registration creates it with
  the right spec, and registering again updates it without failing or duplicating.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    ScheduleRange,
    WorkflowHandle,
)
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.outbox import SmtpConfig
from activities.weekly_meeting import (
    WeeklyMeetingActivities,
    agenda_item,
    choose_chair,
    plan_week,
)
from config import Settings
from models.protocol import Calendar, Pathway, Role, RoleRef, Side, WeeklyMeeting
from models.tables import Notification, Staff, Transfer
from ops.demo import demo_staff
from temporal_setup import (
    prepare_namespace,
    register_weekly_meetings,
    weekly_meeting_id,
)
from tests.converter import CONVERTER
from tests.dates import Scene
from tests.mail import Mailbox
from tests.scenario import PROTOCOLS, Scenario
from tests.transfers import start as start_gateshead
from worker import ACTIVITY_THREADS, build_worker
from workflows.weekly_meeting import (
    Agenda,
    AgendaRequest,
    MeetingWeekRequest,
    WeeklyMeetingInput,
    WeeklyMeetingWorkflow,
    papers_before,
)

LONDON = ZoneInfo("Europe/London")
ST_HELENS = PROTOCOLS["st_helens"]
assert ST_HELENS.weekly_meeting is not None
MEETING: WeeklyMeeting = ST_HELENS.weekly_meeting
GATE = MEETING.agenda_gate
PATHWAY_ID = next(pid for pid, p in ST_HELENS.pathways.items() if GATE in p.gates)
PATHWAY: Pathway = ST_HELENS.pathways[PATHWAY_ID]
PAPERS = papers_before(PATHWAY, GATE)  # e.g. the QA template
HOS_1, HOS_2 = "st_helens-hos-1", "st_helens-hos-2"
# Every Head of Service of the demo directory: the two of the authority and one per service.
HEADS = sorted(p.id for p in demo_staff(ST_HELENS) if p.role == "head_of_service")


def chair_of(iso_week: int) -> str:
    """The rota's chair that week: the Heads of Service by id, in turn by ISO week."""
    return HEADS[iso_week % len(HEADS)]
INPUT = WeeklyMeetingInput.for_protocol(ST_HELENS)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """A London wall-clock time, as an aware datetime."""
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def week_of(now: datetime, calendar: Calendar | None = None,
            meeting: WeeklyMeeting = MEETING) -> Any:
    return plan_week(MeetingWeekRequest(calendar=calendar or ST_HELENS.calendar,
                                        meeting=meeting, now=now))


# ---------------------------------------------------------------------------
# When the papers are due, and who chairs (pure).
# ---------------------------------------------------------------------------


def test_protocol_has_the_monday_10am_meeting_chaired_by_heads_of_service() -> None:
    assert MEETING.weekday == "monday"
    assert MEETING.papers_due == time(10, 0)
    assert MEETING.chair is Role.head_of_service
    assert PATHWAY.gates[GATE].by == [RoleRef(role=Role.head_of_service, side=Side.authority)]


def test_papers_are_due_at_10_on_an_ordinary_monday() -> None:
    week = week_of(at(date(2027, 4, 5), 0, 5))
    assert (week.nominal_date, week.meeting_date, week.moved) == \
        (date(2027, 4, 5), date(2027, 4, 5), False)
    assert week.papers_due_at == datetime(2027, 4, 5, 9, 0, tzinfo=UTC)  # 10:00 BST
    assert week.papers_due_local == "Mon 5 Apr 2027 10:00 BST"
    assert week.iso_week == 14
    winter = week_of(at(date(2027, 1, 13), 15))  # any day of the week: that week's Monday
    assert winter.papers_due_at == datetime(2027, 1, 11, 10, 0, tzinfo=UTC)  # 10:00 GMT


def test_easter_monday_moves_the_papers_to_tuesday() -> None:
    week = week_of(at(date(2027, 3, 29), 0, 5))
    assert (week.nominal_date, week.meeting_date, week.moved) == \
        (date(2027, 3, 29), date(2027, 3, 30), True)
    assert week.papers_due_at == datetime(2027, 3, 30, 9, 0, tzinfo=UTC)
    assert week.papers_due_local == "Tue 30 Mar 2027 10:00 BST"
    assert week.iso_week == 13


def test_consecutive_bank_holidays_and_closure_days_move_to_the_next_working_day() -> None:
    # 25 and 26 December 2027 fall at the weekend: Mon 27 and Tue 28 are the substitute days.
    assert week_of(at(date(2027, 12, 27), 0, 5)).meeting_date == date(2027, 12, 29)
    closed = ST_HELENS.calendar.model_copy(update={"closure_days": [date(2027, 4, 5)]})
    week = week_of(at(date(2027, 4, 5), 0, 5), closed)
    assert (week.meeting_date, week.moved) == (date(2027, 4, 6), True)


def test_a_meeting_on_another_weekday() -> None:
    thursday = MEETING.model_copy(update={"weekday": "thursday", "papers_due": time(9, 30)})
    week = week_of(at(date(2027, 4, 5), 0, 5), meeting=thursday)
    assert week.papers_due_at == datetime(2027, 4, 8, 8, 30, tzinfo=UTC)


def test_the_chair_rotates_by_iso_week_among_heads_of_service_sorted_by_id() -> None:
    hos = [Staff(id=i, authority="st_helens", team="authority", role="head_of_service",
                 display_name="Head of Service", email=f"{i}@x.example")
           for i in (HOS_2, HOS_1)]
    assert [choose_chair(hos, week).id for week in (13, 14, 15, 52, 53, 1)] == \
        [HOS_2, HOS_1, HOS_2, HOS_1, HOS_2, HOS_2]


# ---------------------------------------------------------------------------
# The agenda from the case store (the activity, on SQLite with the demo directory).
# ---------------------------------------------------------------------------


def _row(case_id: str, *, authority: str = "st_helens", stage: str = "proposed",
         pathway: Pathway = PATHWAY, pathway_id: str = PATHWAY_ID,
         done: tuple[str, ...] = ()) -> Transfer:
    now = datetime(2027, 3, 25, 12, tzinfo=UTC)
    tid = f"transfer-{authority}-{case_id}"
    gates = [{"id": g, "title": spec.title, "action": pathway.gate_action(g), "done": g in done}
             for g, spec in pathway.gates.items()]
    return Transfer(run_id=str(uuid.uuid4()), transfer_id=tid, case_id=case_id,
                    authority=authority, pathway=pathway_id, stage=stage,
                    from_team=pathway.sending, to_team=pathway.receiving,
                    responsible_team=pathway.sending, started_at=now, updated_at=now, seq=1,
                    view={"transfer_id": tid, "case_id": case_id, "stage": stage,
                          "gates": gates})


def test_agenda_item_needs_the_gate_and_it_not_done() -> None:
    other = next(p for p in PROTOCOLS["gateshead"].pathways.values() if GATE not in p.gates)
    item = agenda_item(_row("C1", done=tuple(PAPERS)), GATE, PAPERS)
    assert item is not None
    assert (item.case_id, item.transfer_id, item.pathway, item.from_team, item.to_team) == \
        ("C1", "transfer-st_helens-C1", PATHWAY_ID, PATHWAY.sending, PATHWAY.receiving)
    assert item.waiting_for == [GATE]
    item = agenda_item(_row("C2"), GATE, PAPERS)
    assert item is not None and item.waiting_for == [*PAPERS, GATE]
    assert agenda_item(_row("C3", done=tuple(PATHWAY.gates)), GATE, PAPERS) is None
    assert agenda_item(_row("C4", pathway=other, pathway_id="other"), GATE, PAPERS) is None


def test_agenda_is_written_once_for_the_chair_however_often_retried(
        directory_engine: sqlalchemy.Engine) -> None:
    with Session(directory_engine) as session:
        session.add_all([
            _row("C11", done=tuple(PAPERS)), _row("C12"),
            _row("C13", done=tuple(PATHWAY.gates), stage="ready"),  # met; awaiting its date
            _row("C14", stage="transferred", done=tuple(PATHWAY.gates)),
            _row("C15", stage="withdrawn"),
            _row("C16", authority="gateshead"),
        ])
        session.commit()
    week = week_of(at(date(2027, 3, 29), 0, 5))
    request = AgendaRequest(authority="st_helens", meeting=MEETING, papers=INPUT.papers,
                            week=week, at=week.papers_due_at)
    activities = WeeklyMeetingActivities(directory_engine)
    first = ActivityEnvironment().run(activities.prepare_agenda, request)
    again = ActivityEnvironment().run(activities.prepare_agenda, request)
    assert [(i.case_id, i.waiting_for) for i in first.items] == \
        [("C11", [GATE]), ("C12", [*PAPERS, GATE])]
    assert first.chair_id == again.chair_id == chair_of(13)
    assert first.notification_key == again.notification_key == \
        f"meeting-st_helens-2027-03-30:1:{chair_of(13)}"
    with Session(directory_engine) as session:
        rows = session.exec(select(Notification)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.run_id, row.seq, row.transfer_id, row.recipient_id, row.recipient_role) == \
        ("meeting-st_helens-2027-03-30", 1, "meeting-st_helens-2027-03-30", chair_of(13),
         "head_of_service")
    assert row.subject == \
        "[st_helens] Case Transfer Meeting 2027-03-30: 2 transfers on the agenda"
    assert row.sent_at is None


def test_no_chair_no_email(directory_engine: sqlalchemy.Engine) -> None:
    nobody = MEETING.model_copy(update={"chair": Role.senior_assistant_director})
    week = week_of(at(date(2027, 4, 5), 0, 5))
    with Session(directory_engine) as session:
        for s in session.exec(select(Staff).where(Staff.role == "senior_assistant_director")):
            session.delete(s)
        session.commit()
    agenda = ActivityEnvironment().run(
        WeeklyMeetingActivities(directory_engine).prepare_agenda,
        AgendaRequest(authority="st_helens", meeting=nobody, week=week, at=week.papers_due_at))
    assert (agenda.chair_id, agenda.notification_key) == (None, None)
    with Session(directory_engine) as session:
        assert session.exec(select(Notification)).all() == []


# ---------------------------------------------------------------------------
# The workflow on the time-skipping server.
# ---------------------------------------------------------------------------

_TEAM_SHORT = {Role.team_manager: "tm", Role.social_worker: "sw", Role.service_manager: "sm"}
_AUTHORITY_SHORT = {Role.head_of_service: "hos-1", Role.senior_assistant_director: "sad",
                    Role.director: "director", Role.iro: "iro"}


def who_for(pathway: Pathway, ref: RoleRef) -> str:
    """A demo staff member holding `ref`, as Scenario names them."""
    if ref.side is Side.authority:
        return _AUTHORITY_SHORT[ref.role]
    team = pathway.sending if ref.side is Side.sending else pathway.receiving
    return f"{team}-{_TEAM_SHORT[ref.role]}"


async def complete(s: Scenario, gate_id: str) -> None:
    spec = s.pathway.gates[gate_id]
    await s.act(s.pathway.gate_action(gate_id), who_for(s.pathway, spec.by[0]),
                items=list(spec.items), attendees=list(spec.attendees))


# The workflow's weeks, in scenes (tests.dates.Scene) at the first such week after today: a
# Monday in summer time, and the Easter Monday whose papers move to Tuesday. The chair is the
# rota's for the moved week's ISO number (`chair_of`, checked on its own above).
# Each scene reaches back to the Sunday before last, when the transfer considered at last
# week's meeting filed its papers (the days before are ordinary working days).
EASTER_MONDAY = Scene("Easter Monday 2027", ((date(2027, 3, 21), date(2027, 3, 31)),),
                      holidays=(date(2027, 3, 26), date(2027, 3, 29)),
                      clock_changes=(date(2027, 3, 28),))
ORDINARY_MONDAY = Scene("Monday 5 April 2027", ((date(2027, 3, 28), date(2027, 4, 6)),),
                        holidays=(date(2027, 3, 29),), clock_changes=(date(2027, 3, 28),))


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    now = await env.get_current_time()
    assert moment > now, f"the test server's clock is already past {moment}"
    await env.sleep(moment - now)


async def open_transfers(env: WorkflowEnvironment, worker: Worker,
                         monday: date) -> dict[str, str]:
    """Four St Helens transfers and a Gateshead one; returns case id -> what became of it.
    The one whose meeting was held filed its papers the Sunday before last and was considered
    at last week's meeting (papers filed after a week's cut-off wait for the next one); the
    others start on the Sunday before this week's meeting."""
    client = env.client
    papers = papers_before(PATHWAY, GATE)
    held = Scenario(client, worker, "st_helens", PATHWAY_ID)
    await skip_to(env, at(monday - timedelta(days=8), 12))
    await held.open(await env.get_current_time(), case_id="C103")
    for gate_id in papers:
        await complete(held, gate_id)
    await skip_to(env, at(monday - timedelta(days=5), 12))  # after last week's cut-off
    await complete(held, GATE)
    await skip_to(env, at(monday - timedelta(days=1), 12))
    now = await env.get_current_time()
    fates = {"C103": "meeting held"}
    for case_id, fate in [("C101", "papers filed"), ("C102", "just proposed"),
                          ("C104", "withdrawn")]:
        s = Scenario(client, worker, "st_helens", PATHWAY_ID)
        await s.open(now, case_id=case_id)
        if fate == "papers filed":
            for gate_id in papers:
                await complete(s, gate_id)
        if fate == "withdrawn":
            await s.act("withdraw", who_for(PATHWAY, PATHWAY.withdraw_by[0]))
        fates[case_id] = fate
    await start_gateshead(client, worker, now, case_id="C201")
    fates["C201"] = "another authority"
    return fates


async def timer_started(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait (in real time, briefly) until the run has planned its week and set its timer."""
    for _ in range(300):
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the meeting run never set its timer")


def meeting_mail(mailbox: Mailbox) -> list[tuple[list[str], Message]]:
    # A long key arrives folded over two lines (RFC 5322 §2.2.3): unfold it first.
    return [(to, m) for to, m in mailbox.messages
            if "".join(str(m["X-Caseflow-Key"] or "").split()).startswith("meeting-")]


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def listed_transfers(body: str) -> set[str]:
    return {line.split(": ", 1)[1].split(" ", 1)[0]
            for line in body.splitlines() if line.startswith("- ") and ": " in line}


async def run_meeting_week(env: WorkflowEnvironment, worker: Worker, mailbox: Mailbox,
                           engine: sqlalchemy.Engine, monday: date, due_utc: datetime,
                           chair: str) -> Message:
    """Transfers on Sunday; the run starts at 00:05 on Monday, as the schedule would."""
    await open_transfers(env, worker, monday)
    await skip_to(env, at(monday, 0, 5))
    handle = await env.client.start_workflow(
        WeeklyMeetingWorkflow.run,
        INPUT, id=f"{weekly_meeting_id('st_helens')}-{monday.isoformat()}",
        task_queue=worker.task_queue)
    await timer_started(handle)

    await skip_to(env, due_utc - timedelta(minutes=1))
    assert meeting_mail(mailbox) == []
    with Session(engine) as session:
        assert session.exec(select(Notification).where(
            col(Notification.transfer_id).startswith("meeting-"))).all() == []

    await skip_to(env, due_utc + timedelta(minutes=1))
    with env.auto_time_skipping_disabled():  # keep the clock in this week
        agenda: Agenda = await handle.result()
    assert agenda.chair_id == chair
    sent = meeting_mail(mailbox)
    assert len(sent) == 1
    recipients, message = sent[0]
    assert recipients == [f"{chair}@st_helens.example"]
    meeting_day = due_utc.astimezone(LONDON).date()
    assert " ".join(str(message["Subject"]).split()) == \
        f"[st_helens] Case Transfer Meeting {meeting_day}: 2 transfers on the agenda"
    body = body_of(message)
    assert listed_transfers(body) == {"transfer-st_helens-C101", "transfer-st_helens-C102"}
    for other in ("C103", "C104", "C201"):
        assert other not in body
    lines = {line.split(": ", 1)[0]: line for line in body.splitlines() if line.startswith("- ")}
    waits = {case: line.split("waiting for: ", 1)[1].split(";")[0]
             for case, line in lines.items()}
    assert waits == {"- C101": GATE,  # papers filed: the meeting is next
                     "- C102": ", ".join([*PAPERS, GATE])}
    with Session(engine) as session:
        row = session.exec(select(Notification).where(
            col(Notification.transfer_id).startswith("meeting-"))).one()
    assert row.sent_at is not None  # (the dispatcher stamps real time, not the test clock)
    assert due_utc <= row.created_at.replace(tzinfo=UTC) < due_utc + timedelta(minutes=2)
    assert row.key == f"meeting-st_helens-{meeting_day.isoformat()}:1:{chair}"
    return message


async def test_easter_monday_meeting_takes_its_papers_on_tuesday(
        ts_env: WorkflowEnvironment, worker: Worker, mailbox: Mailbox,
        directory_engine: sqlalchemy.Engine) -> None:
    monday = EASTER_MONDAY.day(2027, 3, 29)
    message = await run_meeting_week(
        ts_env, worker, mailbox, directory_engine, monday,
        due_utc=EASTER_MONDAY.utc(2027, 3, 30, 9),  # Tue 10:00 BST
        chair=chair_of(monday.isocalendar().week))  # (ISO week 13 in 2027)
    body = body_of(message)
    assert f"moved from Monday {monday}" in body


async def test_ordinary_monday_meeting_and_a_second_run_sends_nothing_more(
        ts_env: WorkflowEnvironment, worker: Worker, mailbox: Mailbox,
        directory_engine: sqlalchemy.Engine) -> None:
    monday = ORDINARY_MONDAY.day(2027, 4, 5)
    chair = chair_of(monday.isocalendar().week)  # (ISO week 14 in 2027)
    await run_meeting_week(
        ts_env, worker, mailbox, directory_engine, monday,
        due_utc=ORDINARY_MONDAY.utc(2027, 4, 5, 9),  # Mon 10:00 BST
        chair=chair)
    # A second run that week (a manual trigger, a catch-up): the papers are already due, so
    # it acts at once, finds the meeting's email in the outbox and sends nothing more.
    with ts_env.auto_time_skipping_disabled():
        again: Agenda = await ts_env.client.execute_workflow(
            WeeklyMeetingWorkflow.run,
            INPUT, id="weekly-meeting-st_helens-again", task_queue=worker.task_queue)
    assert again.notification_key == f"meeting-st_helens-{monday}:1:{chair}"
    assert len(meeting_mail(mailbox)) == 1


# ---------------------------------------------------------------------------
# The Schedule, on the real dev server.
# ---------------------------------------------------------------------------


@pytest.fixture
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=CONVERTER,
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
    )
    yield env
    await env.shutdown()


async def listed_schedules(client: Client, prefix: str, want: int) -> list[str]:
    """Visibility is eventually consistent: ask again until `want` are listed."""
    ids: list[str] = []
    for _ in range(100):
        ids = [s.id async for s in await client.list_schedules() if s.id.startswith(prefix)]
        if len(ids) >= want:
            break
        await asyncio.sleep(0.1)
    return ids


async def test_worker_start_creates_the_schedule_and_a_restart_updates_it(
        dev_env: WorkflowEnvironment, directory_engine: sqlalchemy.Engine,
        mailbox: Mailbox) -> None:
    client = dev_env.client
    settings = Settings(temporal_task_queue=f"tq-{uuid.uuid4()}")
    await prepare_namespace(client, settings, PROTOCOLS)
    handle = client.get_schedule_handle("weekly-meeting-st_helens")
    described = await handle.describe()
    created_at = described.info.created_at

    spec = described.schedule.spec
    assert spec.time_zone_name == "Europe/London"
    [calendar] = spec.calendars
    assert (calendar.second, calendar.minute, calendar.hour) == \
        ((ScheduleRange(0),), (ScheduleRange(5),), (ScheduleRange(0),))
    assert calendar.day_of_week == (ScheduleRange(1),)  # Monday (0 is Sunday)
    assert calendar.month == (ScheduleRange(1, 12),)
    assert calendar.day_of_month == (ScheduleRange(1, 31),)
    for fire in described.info.next_action_times[:3]:
        local = fire.astimezone(LONDON)
        assert (local.weekday(), local.hour, local.minute) == (0, 0, 5)
    assert described.schedule.policy.overlap is ScheduleOverlapPolicy.SKIP

    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.id, action.task_queue) == \
        ("WeeklyMeetingWorkflow", "weekly-meeting-st_helens", settings.temporal_task_queue)
    [inp] = await CONVERTER.decode(
        list(action.args), [WeeklyMeetingInput])
    assert inp == INPUT
    assert inp.papers == {PATHWAY_ID: PAPERS} | {
        pid: papers_before(p, GATE) for pid, p in ST_HELENS.pathways.items() if GATE in p.gates}

    # Only authorities with a weekly meeting get a schedule.
    assert await register_weekly_meetings(client, PROTOCOLS, settings.temporal_task_queue) == \
        [weekly_meeting_id(a) for a in sorted(PROTOCOLS) if PROTOCOLS[a].weekly_meeting]

    # A restart: an operator's pause survives; a changed protocol is taken up; no duplicate.
    await handle.pause(note="paused by an operator")
    later = {**PROTOCOLS, "st_helens": ST_HELENS.model_copy(update={
        "weekly_meeting": MEETING.model_copy(update={"weekday": "tuesday"})})}
    await prepare_namespace(client, settings, later)
    await prepare_namespace(client, settings, later)
    described = await handle.describe()
    assert described.info.created_at == created_at
    assert described.info.last_updated_at is not None
    assert described.schedule.state.paused
    assert described.schedule.spec.calendars[0].day_of_week == (ScheduleRange(2),)
    assert await listed_schedules(client, "weekly-meeting-st_helens", 1) == \
        ["weekly-meeting-st_helens"]
    await prepare_namespace(client, settings, PROTOCOLS)
    await handle.unpause()

    # What the schedule starts runs on the worker: trigger it now and watch it plan its week.
    smtp = SmtpConfig(host="127.0.0.1", port=mailbox.port, username="", password="",
                      starttls=False, mail_from="x@test.example")
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        worker = build_worker(client, task_queue=settings.temporal_task_queue,
                              engine=directory_engine, smtp=smtp, executor=executor)
        async with worker:
            await handle.trigger()
            run = await started_run(client, handle.id)
            assert run.id.startswith("weekly-meeting-st_helens")
            await activity_completed(run, "plan_weekly_meeting")
            # Before this week's papers are due it waits for them: stop it. After, it sends
            # this week's agenda at once and ends by itself.
            with contextlib.suppress(RPCError):
                await run.terminate("test over")


async def started_run(client: Client, schedule_id: str) -> WorkflowHandle[Any, Any]:
    sched = client.get_schedule_handle(schedule_id)
    for _ in range(100):
        recent = (await sched.describe()).info.recent_actions
        if recent:
            action = recent[-1].action
            assert isinstance(action, ScheduleActionExecutionStartWorkflow)
            return client.get_workflow_handle(action.workflow_id,
                                              run_id=action.first_execution_run_id)
        await asyncio.sleep(0.1)
    raise AssertionError("the triggered schedule started no run")


async def activity_completed(handle: WorkflowHandle[Any, Any], name: str) -> None:
    for _ in range(100):
        scheduled: dict[int, str] = {}
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                scheduled[event.event_id] = \
                    event.activity_task_scheduled_event_attributes.activity_type.name
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and \
                    scheduled.get(event.activity_task_completed_event_attributes
                                  .scheduled_event_id) == name:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"activity {name} did not complete")
