"""Seed 001 (St Helens), issue 9: the routes through the Front Door (MASH) and out of Early
Help, and the baby relinquished at birth -- each started as the API starts it, its clocks on
the right (working) days, the case moved, with a happy and a breach or refusal path.

The Front Door's contact is the anchor; the case moves when the Front Door (or the MASH)
sends it on, and the receiving team's allocation clock runs from then. Every date comes from
the time-skipping server's present (tests/seed_scenes.py): Christmas on a Friday, an early
Easter, a Monday in June, and the two clock changes; each due date is counted by hand.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any

from models.transfer import DeadlineStatus, Stage
from tests.scenario import PROTOCOLS, Scenario, deadline, expect_mail, inbox, settled
from tests.seed_scenes import (
    MINUTE,
    at,
    at_17,
    christmas_on_a_friday,
    clocks_go_back,
    clocks_go_forward,
    early_easter,
    june_monday,
    utc,
)
from tests.transfers import eventually, skip_to

SH = "st_helens"
FAM = list(PROTOCOLS[SH].pathways["early-help-to-duty"].gates["fam_updated"].items)
STARTED = "transfer proposed to your team"
SENT_1_DAY = "Contact processed and sent within 1 day of receiving it"
DUTY_ALLOCATED = "Allocated within 1 working day of the referral being received"
EH_ALLOCATED = "Allocated within 3 working days of the contact being received"
VIA_MASH = "Sent to the Duty Team within 24 hours of the referral into the MASH"
ALERT = "Early Alert sent within 24 hours"


def missed(title: str) -> str:
    return f"deadline missed: {title}"


def moved(team: str) -> str:
    return f"case transferred to {team}"


def about(mailbox: Any, who: str, case: str) -> list[str]:
    """The headlines `who` received about one case only."""
    return [h for h in inbox(mailbox, SH, who, case) if not h.startswith("[")]


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: Any, by: str | None = None
                 ) -> Scenario:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, SH, pathway)
    await s.open(anchor, by=by)
    return s


# ----- Front Door (MASH) -> Duty: sent within 1 day, allocated within 1 working day -----------

async def test_mash_sends_a_contact_to_duty_on_christmas_day_and_duty_allocates_on_the_29th(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    eve = christmas - timedelta(days=1)  # Thu 24 Dec
    view = await (s := await opened(ts_env, worker, "mash-to-duty", at(eve, 15),
                                    by="mash-sw")).view()
    # "1 day" is a calendar day: 17:00 on Christmas Day itself.
    assert deadline(view, "sent_by").due_at == at_17(christmas)
    await skip_to(ts_env, at(christmas, 10))
    kind, _ = await s.refused("send-contact", "duty-tm")
    assert kind == "NotPermitted"  # the Front Door sends it
    view = await s.act("send-contact", "mash-sw")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "duty")
    assert deadline(view, "sent_by").status is DeadlineStatus.met
    # 1 working day from Fri 25 Dec: Mon 28 Dec (Boxing Day's substitute) is closed, so Tue 29.
    assert deadline(view, "allocated_by").due_at == at_17(christmas + timedelta(days=4))
    await skip_to(ts_env, at(christmas + timedelta(days=4), 11))
    view = await s.act("allocate", "duty-tm", worker_id="W1")
    assert view.stage is Stage.closed  # nothing after the transfer: done
    assert deadline(view, "allocated_by").status is DeadlineStatus.met
    await expect_mail(mailbox, SH, {"duty-tm": [STARTED, moved("duty")],
                                    "mash-tm": [moved("duty"), "worker W1 allocated"]})


async def test_a_contact_sent_late_and_allocated_late_over_christmas_tells_the_managers(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "mash-to-duty", at(christmas - timedelta(days=1), 15))
    await skip_to(ts_env, at_17(christmas) + MINUTE)
    await settled(s, lambda v: deadline(v, "sent_by").status is DeadlineStatus.missed)
    monday = christmas + timedelta(days=3)  # Mon 28 Dec, a bank holiday: the MASH works
    await skip_to(ts_env, at(monday, 9))
    view = await s.act("send-contact", "mash-tm")
    # Day 0 Mon 28 Dec (closed); the first working day after it is Tue 29 Dec.
    assert deadline(view, "allocated_by").due_at == at_17(monday + timedelta(days=1))
    await skip_to(ts_env, at_17(monday + timedelta(days=1)) + MINUTE)
    await settled(s, lambda v: deadline(v, "allocated_by").status is DeadlineStatus.missed)
    await skip_to(ts_env, at(monday + timedelta(days=2), 10))
    kind, words = await s.refused("allocate", "duty-tm", worker_id="W1")
    assert kind == "InvalidInput" and "reason for the delay" in words
    view = await s.act("allocate", "duty-tm", worker_id="W1", note="Staff off after Christmas")
    assert deadline(view, "allocated_by").status is DeadlineStatus.met_late
    await expect_mail(mailbox, SH, {
        "duty-tm": [STARTED, missed(SENT_1_DAY), moved("duty"), missed(DUTY_ALLOCATED)],
        "mash-tm": [missed(SENT_1_DAY), moved("duty"), "worker W1 allocated"]})


# ----- Front Door -> Early Help: 3 working days over Easter ------------------------------------

async def early_help_contact(ts_env: Any, worker: Any) -> tuple[Scenario, date]:
    sunday = early_easter(await ts_env.get_current_time())
    thursday = sunday - timedelta(days=3)  # Maundy Thursday
    s = await opened(ts_env, worker, "mash-to-early-help", at(thursday, 10))
    await skip_to(ts_env, at(thursday, 14))
    view = await s.act("send-contact", "mash-sw")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "early_help")
    # Day 0 Thursday; Good Friday and Easter Monday are closed: Tue (1), Wed (2), Thu (3).
    assert deadline(view, "allocated_by").due_at == at_17(sunday + timedelta(days=4))
    return s, sunday


async def test_front_door_to_early_help_allocated_by_the_advanced_practitioner_after_easter(
        ts_env, worker, mailbox):
    s, sunday = await early_help_contact(ts_env, worker)
    await skip_to(ts_env, at(sunday + timedelta(days=3), 10))  # Wednesday
    kind, _ = await s.refused("allocate", "early_help-sw", worker_id="FSW1")
    assert kind == "NotPermitted"
    view = await s.act("allocate", "early_help-ap", worker_id="FSW1")
    assert deadline(view, "allocated_by").status is DeadlineStatus.met
    await expect_mail(mailbox, SH, {"early_help-tm": [STARTED, moved("early_help")],
                                    "mash-tm": [moved("early_help"), "worker FSW1 allocated"]})


async def test_front_door_to_early_help_not_allocated_by_the_thursday_after_easter(
        ts_env, worker, mailbox):
    s, sunday = await early_help_contact(ts_env, worker)
    await skip_to(ts_env, at_17(sunday + timedelta(days=4)) - MINUTE)
    assert deadline(await s.view(), "allocated_by").status is DeadlineStatus.pending
    await skip_to(ts_env, at_17(sunday + timedelta(days=4)) + MINUTE)
    await settled(s, lambda v: deadline(v, "allocated_by").status is DeadlineStatus.missed)
    await expect_mail(mailbox, SH, {
        "early_help-tm": [STARTED, moved("early_help"), missed(EH_ALLOCATED)],
        "mash-tm": [moved("early_help")]})


# ----- Front Door -> CWD (the clocks go back) and -> Assessment, -> Adoption --------------------

async def test_mash_to_cwd_level_2_allocated_the_monday_after_the_clocks_go_back(
        ts_env, worker, mailbox):
    sunday = clocks_go_back(await ts_env.get_current_time())
    friday = sunday - timedelta(days=2)
    s = await opened(ts_env, worker, "mash-to-cwd", at(friday, 9))
    await skip_to(ts_env, at(friday, 11))
    view = await s.act("send-to-cwd-family-support", "mash-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "cwd")
    # 1 working day from Friday: Monday, 17:00 GMT (= 17:00 UTC, no longer 16:00 UTC).
    due = deadline(view, "allocated_by").due_at
    assert due == at_17(sunday + timedelta(days=1)) == utc(sunday + timedelta(days=1), 17)
    await skip_to(ts_env, at(sunday + timedelta(days=1), 16))
    view = await s.act("allocate", "cwd-tm", worker_id="FSW2")
    assert deadline(view, "allocated_by").status is DeadlineStatus.met
    await expect_mail(mailbox, SH, {"cwd-tm": [STARTED, moved("cwd")],
                                    "mash-tm": [moved("cwd"), "worker FSW2 allocated"]})


async def test_mash_to_cwd_level_4_not_allocated_by_monday_after_the_clocks_go_back(
        ts_env, worker, mailbox):
    sunday = clocks_go_back(await ts_env.get_current_time())
    friday = sunday - timedelta(days=2)
    s = await opened(ts_env, worker, "mash-to-cwd", at(friday, 9))
    await skip_to(ts_env, at(friday, 15))
    await s.act("send-to-cwd-social-work", "mash-sw")
    await skip_to(ts_env, utc(sunday + timedelta(days=1), 16, 30))  # 16:30 GMT: still in time
    assert deadline(await s.view(), "allocated_by").status is DeadlineStatus.pending
    await skip_to(ts_env, utc(sunday + timedelta(days=1), 17) + MINUTE)
    await settled(s, lambda v: deadline(v, "allocated_by").status is DeadlineStatus.missed)
    title = "Allocated within 1 working day by the CWD Team Manager"
    await expect_mail(mailbox, SH, {"cwd-tm": [STARTED, moved("cwd"), missed(title)],
                                    "mash-tm": [moved("cwd")]})


async def test_mash_to_assessment_pre_birth_happy_and_court_report_late(ts_env, worker,
                                                                        mailbox):
    monday = june_monday(await ts_env.get_current_time())
    pre_birth = await opened(ts_env, worker, "mash-to-assessment", at(monday, 9))
    await skip_to(ts_env, at(monday, 10))
    view = await pre_birth.act("send-pre-birth-assessment", "mash-sw")
    assert view.responsible_team == "assessment"
    assert deadline(view, "allocated_by").due_at == at_17(monday + timedelta(days=1))
    await skip_to(ts_env, at(monday + timedelta(days=1), 9))
    view = await pre_birth.act("allocate", "assessment-tm", worker_id="W7")
    assert view.stage is Stage.closed  # nothing after the transfer: done
    # A court-ordered s37 report sent on the Friday: due Monday 17:00; missed.
    friday = monday + timedelta(days=4)
    await skip_to(ts_env, at(friday, 9))
    report = Scenario(ts_env.client, worker, SH, "mash-to-assessment")
    await report.open(at(friday, 9), case_id="C2")
    await skip_to(ts_env, at(friday, 12))
    view = await report.act("send-court-ordered-report", "mash-tm")
    assert deadline(view, "allocated_by").due_at == at_17(friday + timedelta(days=3))
    await skip_to(ts_env, at_17(friday + timedelta(days=3)) + MINUTE)
    await settled(report, lambda v: deadline(v, "allocated_by").status is DeadlineStatus.missed)
    title = "Allocated within 1 working day of the contact being sent"
    for case, headlines in [("C1", [STARTED, moved("assessment")]),
                            ("C2", [STARTED, moved("assessment"), missed(title)])]:
        await eventually(partial(about, mailbox, "assessment-tm", case),
                         sorted(headlines).__eq__)


async def test_mash_to_adoption_post_sgo_support_allocated_only_by_the_adoption_tm(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "mash-to-adoption", at(monday, 9))
    view = await s.act("send-post-sgo-support-request", "mash-sw")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "adoption")
    assert deadline(view, "allocated_by").due_at == at_17(monday + timedelta(days=1))
    kind, _ = await s.refused("allocate", "adoption-sw", worker_id="A1")
    assert kind == "NotPermitted"
    view = await s.act("allocate", "adoption-tm", worker_id="A1")
    assert view.stage is Stage.closed  # nothing after the transfer: done
    await expect_mail(mailbox, SH, {"adoption-tm": [STARTED, moved("adoption")],
                                    "mash-tm": [moved("adoption"), "worker A1 allocated"]})


# ----- Early Help -> MASH -> Duty within 24 hours (the clocks go back) --------------------------

async def test_early_help_escalation_reaches_duty_via_the_mash_within_24_hours(
        ts_env, worker, mailbox):
    sunday = clocks_go_back(await ts_env.get_current_time())
    saturday = sunday - timedelta(days=1)
    s = await opened(ts_env, worker, "early-help-to-duty-via-mash", at(saturday, 10),
                     by="early_help-ap")
    # 24 elapsed hours from 10:00 BST (09:00 UTC) Saturday: 09:00 GMT Sunday, not 10:00.
    view = await s.view()
    assert deadline(view, "sent_by").due_at == utc(sunday, 9)
    await skip_to(ts_env, at(saturday, 11))
    kind, _ = await s.refused("send-to-duty", "duty-tm")
    assert kind == "NotPermitted"
    view = await s.act("send-to-duty", "mash-tm")
    assert view.responsible_team == "early_help"  # the FAM records are not yet complete
    view = await s.act("record-fam-updated", "early_help-sw", items=FAM)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "duty")
    # Allocation: 1 working day from Saturday, Monday 17:00 GMT.
    assert deadline(view, "allocated_by").due_at == utc(sunday + timedelta(days=1), 17)
    await skip_to(ts_env, at(sunday + timedelta(days=1), 10))
    await s.act("allocate", "duty-tm", worker_id="D1")
    await expect_mail(mailbox, SH, {
        "duty-tm": [STARTED, moved("duty")], "mash-tm": [STARTED],
        "early_help-tm": [moved("duty"), "worker D1 allocated"]})


async def test_early_help_escalation_not_sent_within_24_hours_tells_three_managers(
        ts_env, worker, mailbox):
    sunday = clocks_go_back(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "early-help-to-duty-via-mash",
                     at(sunday - timedelta(days=1), 10))
    await s.act("record-fam-updated", "early_help-tm", items=FAM)
    await skip_to(ts_env, utc(sunday, 9) - MINUTE)
    assert deadline(await s.view(), "sent_by").status is DeadlineStatus.pending
    await skip_to(ts_env, utc(sunday, 9) + MINUTE)
    view = await settled(s, lambda v: deadline(v, "sent_by").status is DeadlineStatus.missed)
    assert view.responsible_team == "early_help"
    await expect_mail(mailbox, SH, {"duty-tm": [STARTED, missed(VIA_MASH)],
                                    "mash-tm": [STARTED, missed(VIA_MASH)],
                                    "early_help-tm": [missed(VIA_MASH)]})


# ----- Early Help -> Duty, planned step-up ----------------------------------------------------

async def test_planned_step_up_received_by_duty_once_the_fam_records_are_complete(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "early-help-to-duty", at(monday, 9))
    kind, _ = await s.refused("receive-referral", "duty-tm")
    assert kind == "WrongStage"  # the FAM records first
    kind, _ = await s.refused("record-fam-updated", "early_help-tm", items=FAM[:-1])
    assert kind == "InvalidInput"
    await s.act("record-fam-updated", "early_help-ap", items=FAM)
    kind, _ = await s.refused("receive-referral", "early_help-tm")
    assert kind == "NotPermitted"
    await skip_to(ts_env, at(monday, 15))
    view = await s.act("receive-referral", "duty-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "duty")
    assert deadline(view, "allocated_by").due_at == at_17(monday + timedelta(days=1))
    await s.act("allocate", "duty-tm", worker_id="D2")
    await expect_mail(mailbox, SH, {"duty-tm": [STARTED, moved("duty")],
                                    "early_help-tm": [moved("duty"), "worker D2 allocated"]})


async def test_planned_step_up_received_on_christmas_eve_is_late_after_the_29th(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    eve = christmas - timedelta(days=1)
    s = await opened(ts_env, worker, "early-help-to-duty", at(eve, 9))
    await s.act("record-fam-updated", "early_help-sw", items=FAM)
    view = await s.act("receive-referral", "duty-tm")
    # Day 0 Thu 24 Dec: Fri 25 and Mon 28 are closed, so the first working day is Tue 29.
    assert deadline(view, "allocated_by").due_at == at_17(christmas + timedelta(days=4))
    await skip_to(ts_env, at_17(christmas + timedelta(days=4)) + MINUTE)
    await settled(s, lambda v: deadline(v, "allocated_by").status is DeadlineStatus.missed)
    await expect_mail(mailbox, SH, {
        "duty-tm": [STARTED, moved("duty"), missed(DUTY_ALLOCATED)],
        "early_help-tm": [moved("duty")]})


# ----- Duty -> Adoption: a baby relinquished at birth ------------------------------------------

async def test_relinquished_baby_alert_co_allocation_and_full_transfer(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s = await opened(ts_env, worker, "duty-to-adoption-relinquished-baby", at(monday, 10))
    view = await s.view()
    assert deadline(view, "early_alert_by").due_at == at(monday + timedelta(days=1), 10)
    kind, _ = await s.refused("send-early-alert", "duty-sw")
    assert kind == "NotPermitted"  # the Duty Team Manager sends it
    kind, _ = await s.refused("record-adoption-co-allocation", "adoption-tm")
    assert kind == "WrongStage"  # after the alert
    await skip_to(ts_env, at(monday, 16))
    await s.act("send-early-alert", "duty-tm")
    await s.act("record-adoption-co-allocation", "adoption-tm")
    born = monday + timedelta(days=21)
    await skip_to(ts_env, at(born + timedelta(days=1), 10))
    view = await s.act("record-relinquishment", "adoption-tm", date=born)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "adoption")
    assert deadline(view, "early_alert_by").status is DeadlineStatus.met
    await s.act("allocate", "adoption-tm", worker_id="A2")
    alert = "Early Alert sent by the Duty Team Manager to the Adoption Team"
    await expect_mail(mailbox, SH, {
        "adoption-tm": [STARTED, alert, moved("adoption")],
        "duty-tm": [moved("adoption"), "worker A2 allocated"]})


async def test_relinquished_baby_alert_late_when_the_clocks_go_forward(ts_env, worker, mailbox):
    sunday = clocks_go_forward(await ts_env.get_current_time())
    saturday = sunday - timedelta(days=1)
    s = await opened(ts_env, worker, "duty-to-adoption-relinquished-baby", at(saturday, 12))
    # 24 elapsed hours from 12:00 GMT Saturday: 13:00 BST on Sunday.
    due = deadline(await s.view(), "early_alert_by").due_at
    assert due == utc(sunday, 12) == at(sunday, 13)
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "early_alert_by").status is DeadlineStatus.missed)
    await expect_mail(mailbox, SH, {"adoption-tm": [STARTED],
                                    "duty-tm": [missed(ALERT)],
                                    "duty_teams-hos": [missed(ALERT)]})
