"""Seed 001 (St Helens), issue 9: the new routes between statutory teams that go through the
Case Transfer Meeting (the spine of duty-to-assessment) -- Duty to Assessment for a child
accommodated under s20 or an EPO, Assessment to Permanence for a long-term s20 case, the
step-downs from Duty and Permanence to Early Help, and Assessment to Adoption (Placement
Order, Early Permanence) -- each with a happy and a breach or refusal path.

Dates come from the time-skipping server's present (tests/seed_scenes.py): a Monday in June,
Christmas on a Friday and an early Easter; each due date is counted by hand.
"""

from __future__ import annotations

from datetime import timedelta

from models.transfer import DeadlineStatus, Stage
from tests.scenario import PROTOCOLS, deadline, expect_mail, settled
from tests.seed_scenes import MINUTE, at, at_17, christmas_on_a_friday, early_easter, june_monday
from tests.test_st_helens_seed_rules import (
    AGREEMENT,
    EXPECTED,
    FAMILY_VISIT,
    HOS,
    QA,
    QA_FILED,
    READY,
    SCHEDULED_TASKS,
    STARTED,
    TWO_WEEKS,
    agreed_at_the_meeting,
    gate,
    opened,
)
from tests.transfers import skip_to

SH = "st_helens"
CONSENT = list(PROTOCOLS[SH].pathways["duty-to-early-help"].gates["family_consent"].items)
MEETING = "Considered at the Case Transfer Meeting within 10 working days of the summary"
FULL = "Full transfer on the date agreed at the Case Transfer Meeting"
ADOPTION_HOS = "fostering_and_adoption_service-hos"


# ----- Duty -> Assessment: a child accommodated under s20 or an EPO ----------------------------

async def test_epo_case_moves_to_assessment_at_the_first_hearing(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "duty-to-assessment-accommodated", at(monday, 10))
    view = await s.view()
    # 10 working days from Monday (no bank holiday in June): the Monday two weeks on; the
    # 4 weeks from the summary: the Monday four weeks on.
    assert deadline(view, "meeting_by").due_at == at_17(monday + timedelta(days=14))
    assert deadline(view, "transfer_by").due_at == at_17(monday + timedelta(days=28))
    kind, _ = await s.refused("record-epo", "assessment-tm")
    assert kind == "NotPermitted"  # Duty accommodated the child
    await s.act("record-epo", "duty-sw")  # in proceedings: Legal Services are emailed
    meeting = monday + timedelta(days=7)
    await agreed_at_the_meeting(ts_env, s, meeting)
    await s.act("record-joint-visit", "assessment-sw", attendees=FAMILY_VISIT)
    hearing = meeting + timedelta(days=3)
    await skip_to(ts_env, at(hearing, 15))
    kind, words = await s.refused("record-first-hearing-or-lac-review", "duty-tm",
                                  attendees=["duty_social_worker", "assessment_social_worker"])
    assert kind == "InvalidInput" and "duty_team_manager" in words
    view = await s.act("record-first-hearing-or-lac-review", "duty-tm", attendees=[
        "duty_social_worker", "duty_team_manager", "assessment_social_worker"])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "assessment")
    assert deadline(view, "allocated_by").due_at == at_17(hearing + timedelta(days=1))
    view = await s.act("allocate", "assessment-tm", worker_id="W1")
    assert view.stage is Stage.allocated  # the network is still to be told
    epo = "Child accommodated by the Duty Social Worker (section 20 or Emergency Protection " \
          "Order): epo"
    await expect_mail(mailbox, SH, {
        "legal": [epo], "duty-tm": [READY, "case transferred to assessment",
                                    "worker W1 allocated"],
        "assessment-tm": [STARTED, READY, AGREEMENT, "case transferred to assessment"]})


async def test_s20_case_waiting_for_the_lac_review_over_christmas_misses_the_two_weeks(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time(), lead=16)
    # Summary Fri 11 Dec. 10 working days: 14-18, 21-24 Dec are 9; 25 and 28 Dec are closed;
    # the 10th is Tue 29 Dec. Meeting Mon 14 Dec: two calendar weeks end Mon 28 Dec, 17:00.
    s = await opened(ts_env, worker, "duty-to-assessment-accommodated",
                     at(christmas - timedelta(days=14), 10))
    assert deadline(await s.view(), "meeting_by").due_at == at_17(christmas + timedelta(days=4))
    await s.act("record-section-20", "duty-tm")
    view = await agreed_at_the_meeting(ts_env, s, christmas - timedelta(days=11))
    assert deadline(view, "meeting_by").status is DeadlineStatus.met
    assert deadline(view, "transfer_after_meeting").due_at == \
        at_17(christmas + timedelta(days=3))
    await skip_to(ts_env, at_17(christmas + timedelta(days=3)) + MINUTE)
    view = await settled(s, lambda v: deadline(v, "transfer_after_meeting").status
                         is DeadlineStatus.missed)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "duty")
    two = f"deadline missed: {TWO_WEEKS}"
    await expect_mail(mailbox, SH, {"duty-tm": [READY, two],
                                    "assessment-tm": [STARTED, READY, AGREEMENT, two]})


# ----- Assessment -> Permanence: s20, long-term plan, at the Looked After Review ---------------

async def test_s20_long_term_case_moves_to_permanence_at_the_lac_review_after_easter(
        ts_env, worker, mailbox):
    sunday = early_easter(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "assessment-to-permanence-section-20",
                     at(sunday - timedelta(days=3), 10))  # Maundy Thursday
    # 10 working days: Good Friday and Easter Monday closed; Tue-Fri (4), Mon-Fri (9), and
    # the Monday after (10).
    assert deadline(await s.view(), "meeting_by").due_at == at_17(sunday + timedelta(days=15))
    meeting = sunday + timedelta(days=8)
    await agreed_at_the_meeting(ts_env, s, meeting)
    await s.act("record-joint-visit", "permanence-sw", attendees=FAMILY_VISIT)
    await skip_to(ts_env, at(meeting + timedelta(days=2), 11))
    kind, _ = await s.refused("record-lac-review-endorsement", "assessment-sw")
    assert kind == "NotPermitted"
    view = await s.act("record-lac-review-endorsement", "permanence-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "permanence")
    assert deadline(view, "meeting_by").status is DeadlineStatus.met
    view = await s.act("allocate", "permanence-tm", worker_id="P1")
    assert view.allocated_worker == "P1"


async def test_lac_review_date_agreed_and_not_recorded_tells_both_team_managers(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "assessment-to-permanence-section-20", at(monday, 10))
    await agreed_at_the_meeting(ts_env, s, monday + timedelta(days=7))
    review = monday + timedelta(days=10)  # the Thursday
    view = await s.act("agree-full-transfer-date", "assessment-tm", date=review)
    assert deadline(view, "lac_review_endorsement:date_agreed").due_at == at_17(review)
    await skip_to(ts_env, at_17(review) + MINUTE)
    view = await settled(s, lambda v: deadline(v, "lac_review_endorsement:date_agreed").status
                         is DeadlineStatus.missed)
    assert view.responsible_team == "assessment"
    dated = "Change of care plan or legal status endorsed at the Looked After Review: date_agreed"
    await expect_mail(mailbox, SH, {
        "assessment-tm": [READY, dated, f"date missed: {FULL}"],
        "permanence-tm": [STARTED, READY, AGREEMENT, dated, f"date missed: {FULL}"]})


# ----- Duty / Permanence -> Early Help: statutory step-downs on the agreed date ----------------

async def test_duty_steps_down_to_early_help_on_the_agreed_date(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "duty-to-early-help", at(monday, 10))
    meeting = monday + timedelta(days=7)
    view = await agreed_at_the_meeting(ts_env, s, meeting)
    assert deadline(view, "transfer_after_meeting").due_at == at_17(meeting + timedelta(days=14))
    await s.act("record-family-consent", "duty-sw", items=CONSENT)
    await s.act("record-front-door-referral", "duty-sw")
    moving = meeting + timedelta(days=2)  # the Wednesday
    await s.act("set-transfer-date", "early_help-tm", transfer_date=moving)
    await skip_to(ts_env, at_17(moving) - MINUTE)
    assert (await s.view()).responsible_team == "duty"
    await skip_to(ts_env, at_17(moving) + MINUTE)
    view = await settled(s, lambda v: v.stage is Stage.transferred)
    assert view.responsible_team == "early_help"
    # 3 working days from Wednesday: Thursday, Friday, Monday.
    assert deadline(view, "allocated_by").due_at == at_17(moving + timedelta(days=5))
    view = await s.act("allocate", "early_help-ap", worker_id="E1")
    assert view.allocated_worker == "E1"


async def test_permanence_step_down_without_consent_does_not_move_over_christmas(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time(), lead=16)
    s = await opened(ts_env, worker, "permanence-to-early-help",
                     at(christmas - timedelta(days=14), 10))
    await agreed_at_the_meeting(ts_env, s, christmas - timedelta(days=11))  # Mon 14 Dec
    kind, _ = await s.refused("record-family-consent", "early_help-tm", items=CONSENT)
    assert kind == "NotPermitted"  # the stepping-down side records the family's consent
    await s.act("record-front-door-referral", "permanence-tm")
    await s.act("allocate-referral", "early_help-ap")  # on receiving the contact
    # The default date is the end of the two weeks, Mon 28 Dec 17:00; without the signed
    # consent the case stays with Permanence and both Team Managers are told.
    await skip_to(ts_env, at_17(christmas + timedelta(days=3)) + MINUTE)
    view = await settled(s, lambda v: deadline(v, "transfer_after_meeting").status
                         is DeadlineStatus.missed)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "permanence")
    assert not gate(view, "family_consent").done
    two = f"deadline missed: {TWO_WEEKS}"
    await expect_mail(mailbox, SH, {"permanence-tm": [READY, two],
                                    "early_help-tm": [STARTED, READY, AGREEMENT, two]})


# ----- Assessment -> Adoption: Placement Order; Early Permanence -------------------------------

async def test_placement_order_case_moves_to_adoption_once_co_allocated(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "assessment-to-adoption", at(monday, 10))
    meeting = monday + timedelta(days=7)
    await skip_to(ts_env, at(meeting, 9, 30))
    await s.act("file-qa-template", "assessment-tm", items=QA)  # in proceedings: Legal told
    await skip_to(ts_env, at(meeting, 14))
    await s.act("agree-transfer", "hos-2", attendees=[*EXPECTED, "adoption_manager"])
    await s.act("record-scheduled-tasks", "hos-2", items=SCHEDULED_TASKS)
    await s.act("agree-transfer-both-sides", "assessment-tm")
    await s.act("agree-transfer-both-sides", "adoption-tm")
    await s.act("record-joint-visit", "adoption-sw", attendees=FAMILY_VISIT)
    order = meeting + timedelta(days=1)
    await skip_to(ts_env, at(order + timedelta(days=1), 10))
    view = await s.act("record-placement-order", "assessment-tm", date=order)
    assert view.responsible_team == "assessment"  # the family-finding co-allocation first
    kind, _ = await s.refused("record-family-finding-co-allocation", "assessment-tm")
    assert kind == "NotPermitted"
    view = await s.act("record-family-finding-co-allocation", "adoption-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "adoption")
    await s.act("allocate", "adoption-tm", worker_id="A3")
    await expect_mail(mailbox, SH, {
        "legal": [QA_FILED],
        "assessment-tm": [READY, "case transferred to adoption", "worker A3 allocated"],
        "adoption-tm": [STARTED, READY, AGREEMENT, "case transferred to adoption"]})


async def test_early_permanence_not_considered_within_10_working_days_over_easter(
        ts_env, worker, mailbox):
    sunday = early_easter(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "assessment-to-adoption-early-permanence",
                     at(sunday - timedelta(days=3), 10))  # Maundy Thursday
    await s.act("record-family-finding-co-allocation", "adoption-tm")
    due = at_17(sunday + timedelta(days=15))  # the 10th working day, as above
    assert deadline(await s.view(), "meeting_by").due_at == due
    await skip_to(ts_env, due - MINUTE)
    assert deadline(await s.view(), "meeting_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "meeting_by").status is DeadlineStatus.missed)
    late = f"deadline missed: {MEETING}"
    await expect_mail(mailbox, SH, {"assessment-tm": [late], "adoption-tm": [STARTED],
                                    HOS["assessment"]: [late], ADOPTION_HOS: [late]})
