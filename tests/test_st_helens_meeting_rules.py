"""Seed 001 (St Helens): the Case Transfer Meeting's own rules -- the QA template "filed ... by
10.00am every Monday morning" (late papers wait for the next week's meeting), the meeting's
scheduled tasks with who does each, and Early Help allocating a step-down's referral "within 3
working days" of receiving it. Each with a happy and a breach or refusal path.

Dates come from the time-skipping server's present: a Christmas on a Friday (Boxing Day's
substitute on Monday 28th) and a June Monday (no bank holiday or clock change near).
"""

from __future__ import annotations

from datetime import timedelta

from models.transfer import DeadlineStatus
from tests.scenario import deadline, expect_mail, inbox, settled
from tests.seed_scenes import MINUTE, at, at_17, christmas_on_a_friday, june_monday
from tests.test_st_helens_seed_rules import (
    CONSENT,
    EXPECTED,
    HOS,
    QA,
    READY,
    SCHEDULED_TASKS,
    SH,
    STARTED,
    agreed_at_the_meeting,
    opened,
)
from tests.transfers import eventually, skip_to

TASKS_LATE = "deadline missed: Scheduled tasks recorded by the end of the working day after the " \
             "meeting"
REFERRAL_LATE = "deadline missed: Referral allocated within 3 working days of the contact being " \
                "received"


async def test_a_qa_template_filed_after_ten_on_monday_waits_for_next_weeks_meeting(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "duty-to-assessment", at(monday, 9))
    await skip_to(ts_env, at(monday, 10, 15))
    await s.act("file-qa-template", "duty-tm", items=QA)
    await skip_to(ts_env, at(monday, 14))
    kind, message = await s.refused("agree-transfer", "hos-1", attendees=EXPECTED)
    assert kind == "WrongStage" and message.startswith("Held over: the papers were filed at ")
    assert "10:00 BST); the case goes to the next one, papers due" in message
    await skip_to(ts_env, at(monday + timedelta(days=7), 14))
    view = await s.act("agree-transfer", "hos-1", attendees=EXPECTED)
    assert deadline(view, "meeting_by").status is DeadlineStatus.met  # 10 working days


async def test_the_meetings_scheduled_tasks_are_recorded_by_the_next_working_day(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    monday = christmas - timedelta(days=4)  # Mon 21 Dec: QA by 09:30, meeting Thu 24 Dec
    s = await opened(ts_env, worker, "duty-to-assessment", at(monday, 9))
    await skip_to(ts_env, at(monday, 9, 30))
    await s.act("file-qa-template", "duty-tm", items=QA)
    await skip_to(ts_env, at(christmas - timedelta(days=1), 14))
    view = await s.act("agree-transfer", "hos-1", attendees=EXPECTED)
    # One working day from Christmas Eve: Fri 25 and Mon 28 are closed, so Tue 29, 17:00.
    due = at_17(christmas + timedelta(days=4))
    assert deadline(view, "tasks_listed_by").due_at == due
    assert (await s.refused("record-scheduled-tasks", "duty-sw",
                            items=SCHEDULED_TASKS))[0] == "NotPermitted"
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "tasks_listed_by").status is DeadlineStatus.missed)
    await expect_mail(mailbox, SH, {"duty-tm": [READY, TASKS_LATE],
                                    "assessment-tm": [STARTED, READY, TASKS_LATE]})
    view = await s.act("record-scheduled-tasks", "assessment-tm", items=SCHEDULED_TASKS)
    assert deadline(view, "tasks_listed_by").status is DeadlineStatus.met_late


async def test_early_help_allocates_the_referral_within_three_working_days(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "assessment-to-early-help", at(monday, 10))
    await agreed_at_the_meeting(ts_env, s, monday + timedelta(days=7))
    await s.act("record-family-consent", "assessment-sw", items=CONSENT)
    view = await s.act("record-front-door-referral", "assessment-sw")
    # Referral on Monday 14:00: three working days, Thursday 17:00.
    due = at_17(monday + timedelta(days=10))
    assert deadline(view, "referral_allocated_by").due_at == due
    assert (await s.refused("allocate-referral", "assessment-tm"))[0] == "NotPermitted"
    view = await s.act("allocate-referral", "early_help-ap")
    assert deadline(view, "referral_allocated_by").status is DeadlineStatus.met
    assert view.responsible_team == "assessment"  # the case itself has not moved


async def test_a_referral_not_allocated_over_christmas_is_drawn_to_the_team_managers_attention(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time(), lead=16)
    s = await opened(ts_env, worker, "duty-to-early-help", at(christmas - timedelta(days=14), 10))
    await agreed_at_the_meeting(ts_env, s, christmas - timedelta(days=11))  # Mon 14 Dec
    await skip_to(ts_env, at(christmas - timedelta(days=2), 11))  # Wed 23 Dec
    view = await s.act("record-front-door-referral", "duty-sw")
    # Three working days from Wed 23 Dec: Thu 24 (1); Fri 25 and Mon 28 closed; Tue 29 (2),
    # Wed 30 (3), 17:00.
    due = at_17(christmas + timedelta(days=5))
    assert deadline(view, "referral_allocated_by").due_at == due
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "referral_allocated_by").status
                  is DeadlineStatus.missed)
    # Only the Early Help Team Manager hears of it (the two weeks from the meeting, also
    # passed on Mon 28 Dec, go to both Team Managers).
    await eventually(lambda: inbox(mailbox, SH, "early_help-tm"),
                     lambda got: REFERRAL_LATE in got)
    for other in ("duty-tm", HOS["duty"], HOS["early_help"], "early_help-ap"):
        assert REFERRAL_LATE not in inbox(mailbox, SH, other)
