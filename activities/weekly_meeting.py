"""The weekly Case Transfer Meeting's activities: when the papers are due, and the agenda.

`plan_weekly_meeting` works on the protocol's calendar (bank holidays, closure
days, Europe/London), which cannot run in the workflow sandbox; its answer is
recorded in the run's history. `prepare_weekly_meeting_agenda` reads the case
store's current rows and writes ONE outbox row for the week's chair, keyed so
that a retried attempt adds nothing; the workflow then has it delivered by the
ordinary `deliver_notifications` activity.

The agenda carries identifiers only: case and transfer ids, pathway and team
codes, and the names of the gates each transfer still waits for.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity

from activities.working_days import local_label, non_working_dates
from models.days import WEEKDAYS, first_working_day_on_or_after
from models.tables import Notification, Staff, Transfer
from models.transfer import Stage
from workflows.weekly_meeting import (
    Agenda,
    AgendaItem,
    AgendaRequest,
    MeetingWeek,
    MeetingWeekRequest,
    meeting_id,
)

log = logging.getLogger(__name__)

# Transfers still before their meeting: gates in progress, or all done and waiting for a date.
AGENDA_STAGES = (Stage.proposed.value, Stage.ready.value)
SEQ = 1  # one email per meeting: the outbox row's `seq`


def plan_week(request: MeetingWeekRequest) -> MeetingWeek:
    """This (London, Monday-to-Sunday) week's meeting day and papers-due instant."""
    calendar, meeting = request.calendar, request.meeting
    local = ZoneInfo(calendar.timezone)
    today = request.now.astimezone(local).date()
    monday = today - timedelta(days=today.weekday())
    nominal = monday + timedelta(days=WEEKDAYS.index(meeting.weekday))
    closed = frozenset(non_working_dates(calendar, range(nominal.year, nominal.year + 2)))
    # "In the event of a Bank Holiday papers should be submitted the nearest working day to
    # the panel": we take the NEXT working day. The schedule starts the run early on the
    # meeting day itself, so the working day before it has already gone; and the meeting
    # cannot sit on a closed day, so it meets (and takes its papers) on the next one, e.g.
    # Easter Monday 29 March 2027 -> Tuesday 30 March 2027, 10:00.
    day = first_working_day_on_or_after(nominal, closed)
    due = datetime.combine(day, meeting.papers_due, tzinfo=local)
    return MeetingWeek(
        nominal_date=nominal, meeting_date=day, moved=day != nominal,
        papers_due_at=due, papers_due_local=local_label(due, calendar),
        iso_week=nominal.isocalendar().week,
    )


def agenda_item(row: Transfer, gate: str, papers: list[str]) -> AgendaItem | None:
    """The row's agenda entry, if its pathway has the meeting's gate and it is not done."""
    view: dict[str, Any] = row.view
    done = {g.get("id"): bool(g.get("done")) for g in view.get("gates", [])}
    if gate not in done or done[gate]:
        return None
    deadline = next((d for d in view.get("deadlines", [])
                     if d.get("met_when") == gate and d.get("status") in ("pending", "missed")),
                    None)
    return AgendaItem(
        case_id=row.case_id, transfer_id=row.transfer_id, pathway=row.pathway,
        from_team=row.from_team, to_team=row.to_team, stage=row.stage,
        waiting_for=[g for g in papers if not done.get(g, False)] + [gate],
        consider_by=str(deadline.get("due_local", "")) if deadline else "",
        overdue=bool(deadline and deadline.get("status") == "missed"),
    )


def choose_chair(chairs: list[Staff], iso_week: int) -> Staff:
    """The rota: staff holding the chair's role, by id, taking turns by ISO week number.

    With two Heads of Service the chair alternates week by week (the one exception: a
    53-week ISO year, whose week 53 and the next week 1 share a chair).
    """
    ordered = sorted(chairs, key=lambda s: s.id)
    return ordered[iso_week % len(ordered)]


def agenda_subject(authority: str, title: str, day: date, count: int) -> str:
    noun = "transfer" if count == 1 else "transfers"
    return f"[{authority}] {title} {day.isoformat()}: {count} {noun} on the agenda"


def agenda_body(request: AgendaRequest, chair: Staff, items: list[AgendaItem]) -> str:
    week, meeting = request.week, request.meeting
    lines = [
        f"{meeting.title} on {week.meeting_date:%A} {week.meeting_date.isoformat()}"
        + (f" (moved from {week.nominal_date:%A} {week.nominal_date.isoformat()}, "
           "not a working day)" if week.moved else "") + ".",
        f"Chair this week: {chair.id} ({meeting.chair.value}, rota by ISO week {week.iso_week}).",
        f"Papers were due {week.papers_due_local}.",
        "",
        f"Transfers waiting for the meeting ({meeting.agenda_gate}): {len(items)}",
    ]
    lines += [
        f"- {i.case_id}: {i.transfer_id} ({i.pathway}, {i.from_team} → {i.to_team}; "
        f"stage {i.stage}); waiting for: {', '.join(i.waiting_for)}"
        + (f"; {'OVERDUE, was due' if i.overdue else 'to be considered by'} {i.consider_by}"
           if i.consider_by else "")
        for i in items
    ] or ["- none"]
    lines += ["", "Details and actions: GET /transfers/{transfer_id}"]
    return "\n".join(lines)


class WeeklyMeetingActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="plan_weekly_meeting")
    def plan(self, request: MeetingWeekRequest) -> MeetingWeek:
        return plan_week(request)

    @activity.defn(name="prepare_weekly_meeting_agenda")
    def prepare_agenda(self, request: AgendaRequest) -> Agenda:
        """Build the agenda and write the chair's email to the outbox (once, however retried)."""
        week, meeting = request.week, request.meeting
        mid = meeting_id(request.authority, week.meeting_date)
        with Session(self._engine) as session:
            rows = session.exec(
                select(Transfer)
                .where(Transfer.authority == request.authority)
                .where(col(Transfer.stage).in_(AGENDA_STAGES))
                .order_by(col(Transfer.updated_at))
            ).all()
            latest = {row.transfer_id: row for row in rows}  # one row per transfer: the newest
            items = [item for tid in sorted(latest)
                     if (item := agenda_item(latest[tid], meeting.agenda_gate,
                                             request.papers.get(latest[tid].pathway, [])))
                     is not None]
            chairs = list(session.exec(
                select(Staff)
                .where(Staff.authority == request.authority)
                .where(Staff.role == meeting.chair.value)
                .where(col(Staff.active).is_(True), Staff.kind == "person")
            ).all())
            if not chairs:
                log.warning("no staff hold role %s in %s; agenda for %s not sent",
                            meeting.chair.value, request.authority, mid)
                return Agenda(meeting_id=mid, meeting_date=week.meeting_date, chair_id=None,
                              items=items, notification_key=None)
            # One email per meeting: an earlier attempt's (or run's) row stands, even if the
            # rota would now pick someone else (e.g. the directory changed in between).
            written = session.exec(
                select(Notification).where(Notification.run_id == mid, Notification.seq == SEQ)
            ).first()
            if written is not None:
                log.info("agenda %s already in the outbox", written.key)
                return Agenda(meeting_id=mid, meeting_date=week.meeting_date,
                              chair_id=written.recipient_id, items=items,
                              notification_key=written.key)
            chair = choose_chair(chairs, week.iso_week)
            key = f"{mid}:{SEQ}:{chair.id}"
            session.add(Notification(
                key=key, run_id=mid, seq=SEQ, transfer_id=mid, recipient_id=chair.id,
                recipient_role=meeting.chair.value, recipient_team=chair.team,
                email=chair.email,
                subject=agenda_subject(request.authority, meeting.title, week.meeting_date,
                                       len(items)),
                body=agenda_body(request, chair, items),
                created_at=request.at.astimezone(UTC),
            ))
            try:
                session.commit()
            except IntegrityError:  # another attempt wrote it between our check and our insert
                session.rollback()
                log.info("agenda %s already in the outbox", key)
            return Agenda(meeting_id=mid, meeting_date=week.meeting_date, chair_id=chair.id,
                          items=items, notification_key=key)
