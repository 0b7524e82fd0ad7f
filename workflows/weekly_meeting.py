"""WeeklyMeetingWorkflow: one week's standing Case Transfer Meeting (e.g. St Helens').

A Temporal Schedule (see `temporal_setup.register_weekly_meetings`) starts one
run early on the meeting day each week. The run asks an activity when this
week's papers are due (the protocol's `papers_due` time on the meeting
weekday, moved to the next working day after a bank holiday or closure day),
waits for that instant on a durable timer, then has the agenda built from the
case store and emailed to the week's chair through the outbox.

The run takes its week from its own clock (`workflow.now()`), so a late start
(a worker outage, a manual trigger) still prepares the current week's
meeting, at once if the papers were already due. Only identifiers cross
Temporal: case and transfer ids, pathway and team codes, gate names, staff ids.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import AwareDatetime, BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.protocol import Calendar, Pathway, Protocol, WeeklyMeeting
    from models.transfer import DeliveryRequest

STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                          maximum_interval=timedelta(minutes=1))
MAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5),
                         maximum_interval=timedelta(minutes=10))


def meeting_id(authority: str, day: date) -> str:
    """The meeting's business key; its email's outbox `run_id` and `transfer_id`."""
    return f"meeting-{authority}-{day.isoformat()}"


class WeeklyMeetingInput(BaseModel):
    """What the schedule starts each run with: the protocol's meeting block and calendar."""

    authority: str
    meeting: WeeklyMeeting
    calendar: Calendar
    # pathway -> the gates to be done before the meeting's gate (the papers, e.g. the QA
    # template), so the agenda can say whose papers are in; from the protocol, by name.
    papers: dict[str, list[str]] = {}

    @classmethod
    def for_protocol(cls, protocol: Protocol) -> WeeklyMeetingInput:
        meeting = protocol.weekly_meeting
        if meeting is None:
            raise ValueError(f"{protocol.authority} has no weekly_meeting")
        return cls(authority=protocol.authority, meeting=meeting, calendar=protocol.calendar,
                   papers={pid: papers_before(p, meeting.agenda_gate)
                           for pid, p in protocol.pathways.items()
                           if meeting.agenda_gate in p.gates})


def papers_before(pathway: Pathway, gate: str) -> list[str]:
    """The gates that must be done before `gate` (directly or in turn), prerequisites first."""
    order: list[str] = []

    def visit(g: str) -> None:
        for other in pathway.gates[g].after:
            if other not in order:
                visit(other)
                order.append(other)

    visit(gate)
    return order


class MeetingWeekRequest(BaseModel):
    calendar: Calendar
    meeting: WeeklyMeeting
    now: AwareDatetime  # the run's clock: the meeting of this (ISO, London) week is planned


class MeetingWeek(BaseModel):
    """This week's meeting, planned on the protocol's calendar."""

    nominal_date: date  # the protocol's weekday in this week
    meeting_date: date  # the day the papers are due: the nominal day, or the next working day
    moved: bool  # the nominal day was a bank holiday or closure day
    papers_due_at: AwareDatetime
    papers_due_local: str  # e.g. "Tue 30 Mar 2027 10:00 BST"
    iso_week: int  # of the nominal date: picks the chair on the rota


class AgendaRequest(BaseModel):
    authority: str
    meeting: WeeklyMeeting
    papers: dict[str, list[str]] = {}
    week: MeetingWeek
    at: AwareDatetime  # when the agenda is taken (the notification's created_at)


class AgendaItem(BaseModel):
    case_id: str
    transfer_id: str
    pathway: str
    from_team: str
    to_team: str
    stage: str
    waiting_for: list[str]  # the papers not yet done, then the meeting's gate, by name
    consider_by: str = ""  # the due time of a deadline met by the meeting, if any
    overdue: bool = False  # that deadline has passed


class Agenda(BaseModel):
    meeting_id: str
    meeting_date: date
    chair_id: str | None  # None: nobody in the authority holds the chair's role
    items: list[AgendaItem]
    notification_key: str | None  # the outbox row written (or found) for the chair


@workflow.defn
class WeeklyMeetingWorkflow:
    @workflow.run
    async def run(self, inp: WeeklyMeetingInput) -> Agenda:
        week: MeetingWeek = await workflow.execute_activity(
            "plan_weekly_meeting",
            MeetingWeekRequest(calendar=inp.calendar, meeting=inp.meeting, now=workflow.now()),
            result_type=MeetingWeek,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
            summary="Plan this week's papers-due time on the protocol's calendar",
        )
        workflow.set_current_details(
            f"**{inp.meeting.title}** ({inp.authority}): papers due {week.papers_due_local}"
            + (" (moved from a non-working day)" if week.moved else ""))
        # Clamped: a run started after the papers were due builds the agenda at once.
        wait = max(timedelta(0), week.papers_due_at - workflow.now())
        if wait > timedelta(0):
            await workflow.sleep(wait, summary=f"Papers due {week.papers_due_local}"[:190])
        agenda: Agenda = await workflow.execute_activity(
            "prepare_weekly_meeting_agenda",
            AgendaRequest(authority=inp.authority, meeting=inp.meeting, papers=inp.papers,
                          week=week, at=workflow.now()),
            result_type=Agenda,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=STORE_RETRY,
            summary="Build the agenda from the case store; write the chair's email",
        )
        if agenda.notification_key is not None:
            await workflow.execute_activity(
                "deliver_notifications",
                DeliveryRequest(run_id=agenda.meeting_id, seq=1),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=MAIL_RETRY,
                summary="Email: agenda to the chair",
            )
        workflow.set_current_details(
            f"**{inp.meeting.title}** ({inp.authority}) on {week.meeting_date.isoformat()}: "
            f"{len(agenda.items)} transfers on the agenda; chair {agenda.chair_id or 'none'}")
        return agenda
