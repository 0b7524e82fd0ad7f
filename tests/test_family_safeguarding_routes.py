"""Seed 004 (the Family Safeguarding authority), part 2: the internal routes issue 9 adds.

Assessment and Intervention directly to CLA when the threshold is met (through the service's
transfer meeting, the CLA Team Manager invited with its date and there); a contact or
referral from the front door (C-SPOC) straight to CWD; the CLA Team Manager invited to the
meeting considering an FSP -> CLA transfer; and the service-wide transfer meeting (a weekly
Schedule whose agenda is every transfer waiting for its `transfer_meeting`).

Dates come from the time-skipping server's present (tests/seed_scenes.py): the next Easter on
28 March (the clocks go forward that morning), the next Christmas on a Friday, the October
clock change, a quiet June. Due times are worked out by hand; emails are checked exactly.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from models.transfer import DeadlineStatus, Stage
from tests.scenario import deadline, settled, status
from tests.seed_scenes import at, christmas_on_friday, easter_on_march_28, june_monday, utc
from tests.test_family_safeguarding_seed_rules import (
    ACCEPTED,
    ALLOCATED,
    PROTOCOL,
    STARTED,
    expect_mail,
    missed,
    moved,
    opened,
)
from tests.transfers import skip_to
from workflows.weekly_meeting import WeeklyMeetingInput

TO_CLA = "a-and-i-to-cla"
INVITED_TO_MEETING = "CLA Team Manager invited to the transfer meeting: invited"
INVITED = "CLA Team Manager invited to the meeting considering the transfer: invited"
MEETING: dict[str, Any] = {"attendees": ["a_and_i_team_manager", "cla_team_manager"]}


def last_sunday_of_october(year: int) -> date:
    day = date(year, 10, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


# ----- the service-wide transfer meeting -----------------------------------------------------

def test_the_service_wide_transfer_meeting_lists_the_routes_that_go_through_it() -> None:
    meeting = PROTOCOL.weekly_meeting
    assert meeting is not None and meeting.local_choice  # day, time and chair: not in the seed
    assert (meeting.agenda_gate, meeting.chair.value) == ("transfer_meeting", "head_of_service")
    # Each transfer waiting for its transfer meeting is on the week's agenda, with the papers
    # still to come: on the direct route to CLA, the CLA Team Manager's invitation.
    assert WeeklyMeetingInput.for_protocol(PROTOCOL).papers == {
        TO_CLA: ["cla_manager_invited"], "a-and-i-to-cwd": [], "fsp-to-cwd": []}


# ----- Assessment and Intervention -> CLA directly (threshold met) ---------------------------

async def test_assessment_to_cla_at_the_transfer_meeting_across_easter(ts_env, worker, mailbox):
    # Started Thu 25 Mar (GMT); the transfer meeting on Wed 31 Mar, after Good Friday, the
    # clock change (Sun 28) and Easter Monday: due at 17:00 BST, 16:00 UTC.
    year = easter_on_march_28(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, TO_CLA, at(date(year, 3, 25), 10))
    assert view.deadlines == []  # no timescale in the seed
    meeting_day = date(year, 3, 31)
    kind, _ = await s.refused("record-transfer-meeting", "cla-tm", **MEETING)
    assert kind == "WrongStage"  # not before the CLA Team Manager is invited
    assert (await s.refused("invite-cla-manager", "cla-tm", date=meeting_day))[0] == \
        "NotPermitted"
    view = await s.act("invite-cla-manager", "a_and_i-sw", date=meeting_day)
    key = "cla_manager_invited:invited"
    assert deadline(view, key).due_at == utc(meeting_day, 16)
    assert (await s.refused("accept", "cla-sw"))[0] == "NotPermitted"
    await s.act("accept", "cla-tm")
    await skip_to(ts_env, at(meeting_day, 11))
    kind, words = await s.refused("record-transfer-meeting", "a_and_i-tm",
                                  attendees=["a_and_i_team_manager"])
    assert kind == "InvalidInput" and "cla_team_manager" in words  # not without them
    view = await s.act("record-transfer-meeting", "a_and_i-tm", **MEETING)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cla")
    assert status(view, key) is DeadlineStatus.met
    view = await s.act("allocate", "cla-tm", worker_id="W1")
    await expect_mail(mailbox, {"cla-tm": [STARTED, INVITED_TO_MEETING, moved("cla")],
                                "a_and_i-tm": [ACCEPTED, moved("cla"), ALLOCATED]})


async def test_a_transfer_meeting_missed_at_christmas_is_chased(ts_env, worker, mailbox):
    # Invited on Mon 21 Dec for Tue 29 Dec (Fri 25 and Mon 28 are bank holidays): due at
    # 17:00 GMT on the 29th; at 17:01 the inviting side and the CLA Team Manager hear.
    year = christmas_on_friday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, TO_CLA, at(date(year, 12, 21), 10))
    view = await s.act("invite-cla-manager", "a_and_i-tm", date=date(year, 12, 29))
    key = "cla_manager_invited:invited"
    assert deadline(view, key).due_at == utc(date(year, 12, 29), 17)
    await skip_to(ts_env, utc(date(year, 12, 29), 16, 59))
    assert status(await s.view(), key) is DeadlineStatus.pending
    await skip_to(ts_env, utc(date(year, 12, 29), 17, 1))
    view = await settled(s, missed(key))
    assert (view.stage, view.responsible_team) == (Stage.proposed, "a_and_i")
    chased = "date missed: Transfer meeting held with the CLA Team Manager"
    await expect_mail(mailbox, {"cla-tm": [STARTED, INVITED_TO_MEETING, chased],
                                "a_and_i-tm": [chased], "a_and_i-sw": [chased]})


# ----- FSP -> CLA: the CLA Team Manager invited to the meetings ------------------------------

async def test_the_cla_manager_s_meeting_never_holds_the_transfer(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "fsp-to-cla-final-order", at(monday, 9))
    view = await s.act("invite-cla-manager", "fsp-tm", date=monday + timedelta(days=2))
    await s.act("record-cla-meeting", "cla-tm", attendees=["cla_team_manager", "fsp_team_manager"])
    view = await s.view()
    assert status(view, "cla_manager_invited:invited") is DeadlineStatus.met
    assert "cla_meeting" not in s.pathway.transfer.requires  # no delay
    await expect_mail(mailbox, {"cla-tm": [STARTED, INVITED]})


async def test_section_20_cla_meeting_missed_over_the_october_clock_change(
        ts_env, worker, mailbox):
    # Invited on the Monday before the clocks go back, for the Monday after: due at 17:00 GMT,
    # 17:00 UTC (the invitation was made at 10:00 BST, 09:00 UTC).
    sunday = last_sunday_of_october((await ts_env.get_current_time()).year + 1)
    s, _ = await opened(ts_env, worker, "fsp-to-cla-section-20", at(sunday - timedelta(days=6), 10))
    meeting_day = sunday + timedelta(days=1)
    view = await s.act("invite-cla-manager", "fsp-sw", date=meeting_day)
    key = "cla_manager_invited:invited"
    assert deadline(view, key).due_at == utc(meeting_day, 17)
    await skip_to(ts_env, utc(meeting_day, 17, 1))
    await settled(s, missed(key))
    chased = "date missed: Meeting considering the transfer held with the CLA Team Manager"
    await expect_mail(mailbox, {"cla-tm": [STARTED, INVITED, chased],
                                "fsp-tm": [chased], "fsp-sw": [chased]})


# ----- a contact or referral straight to CWD ------------------------------------------------

async def test_contact_to_cwd_when_the_threshold_is_met(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "c-spoc-to-cwd", at(monday, 9))
    assert (await s.refused("accept", "cwd-sw"))[0] == "NotPermitted"
    view = await s.act("accept", "cwd-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cwd")
    view = await s.act("allocate", "cwd-tm", worker_id="W1")
    await expect_mail(mailbox, {"cwd-tm": [STARTED, moved("cwd")],
                                "c_spoc-tm": [ACCEPTED, moved("cwd"), ALLOCATED]})


async def test_cwd_disputes_the_threshold_over_christmas(ts_env, worker, mailbox):
    # Disputed Wed 23 Dec: the Team Managers' 2 working days are Thu 24 and Tue 29 (Fri 25
    # and Mon 28 are bank holidays), so the ladder's first level runs out at 17:00 GMT on the
    # 29th, and the Service Managers are told.
    year = christmas_on_friday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "c-spoc-to-cwd", at(date(year, 12, 23), 10))
    view = await s.act("dispute", "cwd-tm", note="Not severely or profoundly impaired")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "c_spoc")
    assert view.dispute is not None and view.dispute.level_due_at == utc(date(year, 12, 29), 17)
    await skip_to(ts_env, utc(date(year, 12, 29), 17, 1))
    view = await settled(s, lambda v: v.escalation_level == 2)
    assert view.responsible_team == "c_spoc"
    # The Service Managers' level has no time of its own: they are told the Team Managers'
    # 2 working days ran out (the seed names no one above them).
    ladder = PROTOCOL.ladders["disagreement"].title
    referred = f"dispute referred to you: {ladder}"
    told = f"dispute not resolved within 2 working days: {ladder}"
    await expect_mail(mailbox, {"cwd-tm": [STARTED, referred], "c_spoc-tm": [referred],
                                "c_spoc-sm": [told], "cwd-sm": [told]})
