"""Who the directory lets be emailed: never a leaver (deactivated), never a system (a service
signing in with API tokens), whatever role they hold."""

from __future__ import annotations

from datetime import date

import sqlalchemy
from sqlmodel import Session, col, select
from temporalio.testing import ActivityEnvironment

from activities.case_store import CaseStoreActivities
from activities.weekly_meeting import WeeklyMeetingActivities
from models.protocol import Role
from models.tables import Notification, Staff
from tests.test_case_store import change, outbox, started_notices
from tests.test_weekly_meeting import MEETING, at, week_of
from workflows.weekly_meeting import AgendaRequest


def person(staff_id: str, team: str, role: str, *, active: bool = True,
           kind: str = "person") -> Staff:
    return Staff(id=staff_id, authority="gateshead", team=team, role=role, display_name="P",
                 email=f"{staff_id}@council.example", active=active, kind=kind)


def test_leavers_and_systems_are_not_emailed_about_a_transfer(
        engine: sqlalchemy.Engine) -> None:
    with Session(engine) as session:
        session.add_all([
            person("sm-sgcp", "sgcp", "service_manager"),
            person("tm-lac", "lac", "team_manager", active=False),  # a leaver
            person("tm-lac-new", "lac", "team_manager"),
            person("cms-lac", "lac", "team_manager", kind="service"),
        ])
        session.commit()
    ActivityEnvironment().run(CaseStoreActivities(engine).record_change,
                              change(1, notices=started_notices()))
    assert sorted(n.recipient_id for n in outbox(engine)) == ["sm-sgcp", "tm-lac-new"]


def test_a_leaver_or_a_system_never_chairs_the_weekly_meeting(
        directory_engine: sqlalchemy.Engine) -> None:
    chaired_by_sad = MEETING.model_copy(update={"chair": Role.senior_assistant_director})
    with Session(directory_engine) as session:
        for sad in session.exec(select(Staff).where(
                Staff.authority == "st_helens", Staff.role == "senior_assistant_director")):
            sad.active = False
            session.add(sad)
        session.add(Staff(id="st_helens-cms", authority="st_helens", team="authority",
                          role="senior_assistant_director", display_name="CMS",
                          email="cms@st_helens.example", kind="service"))
        session.commit()
    week = week_of(at(date(2027, 4, 5), 0, 5))
    agenda = ActivityEnvironment().run(
        WeeklyMeetingActivities(directory_engine).prepare_agenda,
        AgendaRequest(authority="st_helens", meeting=chaired_by_sad, week=week,
                      at=week.papers_due_at))
    assert (agenda.chair_id, agenda.notification_key) == (None, None)
    with Session(directory_engine) as session:
        assert session.exec(select(Notification).where(
            col(Notification.transfer_id).startswith("meeting-st_helens"))).all() == []
