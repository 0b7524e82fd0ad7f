"""Seed 001 (St Helens) across the authority's boundary, and the points of allocation where no
case moves: each route with a happy path and a breach or refusal, exact due dates and exact
recipients -- the other authority's and Adult Services' addresses included.

A child protection case transferring in from another local authority (the transfer
conference arranged by the SCU, the Assessment social worker identified first, the case moving
only when the conference makes the plans here); Adult Services notified when a child the CWD
Team holds turns 14 (a key date); the alert to the Team Manager Care Leavers about a Personal
Advisor; Fostering's early alert and joint viability visit; the SGO assessment allocated by the
Adoption Team Manager. In the last four the case stays with the sending team.

Dates come from the time-skipping server's present (tests.seed_scenes): a June Monday, a
Christmas on a Friday (Boxing Day's substitute on Monday 28th, New Year's Day on a Friday), an
Easter early enough that the May bank holiday is weeks away, the October clock change.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from models.transfer import DeadlineStatus, Stage, TransferView
from tests.scenario import Scenario, deadline, expect_mail, settled
from tests.seed_scenes import (
    MINUTE,
    at,
    at_17,
    christmas_on_a_friday,
    clocks_go_back,
    early_easter,
    june_monday,
)
from tests.transfers import events, eventually, skip_to

S = "st_helens"
KNOWSLEY = "childrens-front-door@knowsley.example"
WIGAN = "childrens-front-door@wigan.example"
ADULTS = "adult-social-care-transitions@sthelens-adults.example"
OUT = {"other_authority": "knowsley"}
PROPOSED = "transfer proposed to your team"


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: Any, *, by: str,
                 externals: dict[str, str] | None = None,
                 key_dates: dict[str, Any] | None = None) -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, S, pathway)
    return s, await s.open(anchor, by=by, externals=externals, key_dates=key_dates)


def outside(mailbox: Any, address: str) -> list[str]:
    return sorted(re.sub(r"^\[st_helens\] Case C1: ", "", s) for s in mailbox.subjects(address))


async def told(mailbox: Any, address: str, headlines: list[str]) -> None:
    """The organisation got exactly these emails, at its configured address."""
    await eventually(lambda: outside(mailbox, address), sorted(headlines).__eq__)


def missed(title: str) -> str:
    return f"deadline missed: {title}"


def completed(view: TransferView, directory_engine: Any) -> list[str]:
    return [e.summary for e in events(directory_engine, view.run_id) if e.kind == "completed"]


# ----- a child protection case transferring in from another local authority -------------------

CP_IN = "other-authority-cp-transfer-in"
ARRANGED = ("Transfer Child Protection Conference arranged by the SCU, the Assessment Team "
            "invited: arranged")
CONFERENCE = ["assessment_social_worker", "assessment_team_manager", "conference_chair"]


async def test_a_cp_case_transfers_in_when_the_conference_makes_the_plans_here(
        ts_env, worker, mailbox, directory_engine):
    monday = june_monday(await ts_env.get_current_time())
    # Requested Mon 10:00. Fifteen working days (no bank holiday in June): three weeks on,
    # Mon 17:00.
    s, view = await opened(ts_env, worker, CP_IN, at(monday, 10), by="mash-sw", externals=OUT)
    assert (view.from_team, view.to_team) == ("other_authority", "assessment")
    assert view.responsible_team == "other_authority"
    assert deadline(view, "conference_by").due_at == at_17(monday + timedelta(days=21))
    # The SCU arranges the conference for Wednesday of next week; the invitation goes out.
    assert (await s.refused("arrange-transfer-conference", "assessment-tm",
                            date=monday + timedelta(days=9)))[0] == "NotPermitted"
    await s.act("arrange-transfer-conference", "da", date=monday + timedelta(days=9))
    # The plans cannot be recorded before the Assessment social worker is identified.
    refused = await s.refused("record-cp-plans-in-st-helens", "assessment-tm",
                              attendees=CONFERENCE)
    assert refused[0] == "WrongStage" and "only after" in refused[1]
    await s.act("identify-social-worker", "assessment-tm")
    await skip_to(ts_env, at(monday + timedelta(days=9), 14))
    # "both the Social Worker and Team Manager will attend"
    refused = await s.refused("record-cp-plans-in-st-helens", "assessment-tm",
                              attendees=["assessment_social_worker", "conference_chair"])
    assert refused[0] == "InvalidInput" and "assessment_team_manager" in refused[1]
    view = await s.act("record-cp-plans-in-st-helens", "assessment-tm", attendees=CONFERENCE)
    assert view.stage is Stage.transferred and view.responsible_team == "assessment"
    assert deadline(view, "conference_by").status is DeadlineStatus.met
    assert deadline(view, "conference_arranged:arranged").status is DeadlineStatus.met
    # Allocated within 1 working day: by Thursday 17:00.
    assert deadline(view, "allocated_by").due_at == at_17(monday + timedelta(days=10))
    await s.act("allocate", "assessment-tm", worker_id="W1")
    view = await s.act("record-network-informed", "assessment-sw")
    assert view.stage is Stage.closed
    moved = "case transferred to assessment"
    await expect_mail(mailbox, S, {"da": [PROPOSED, moved],
                                   "assessment-tm": [PROPOSED, ARRANGED, moved],
                                   "assessment-sw": [ARRANGED]})
    await told(mailbox, KNOWSLEY, [moved])
    assert mailbox.subjects(WIGAN) == []


async def test_a_transfer_conference_not_held_in_fifteen_working_days_over_easter(
        ts_env, worker, mailbox):
    easter = early_easter(await ts_env.get_current_time())
    # Requested Mon before Easter. Fifteen working days: Tue - Thu (1-3); Good Friday and
    # Easter Monday closed; Tue E+2 - Fri E+5 (4-7); Mon E+8 - Fri E+12 (8-12); Mon E+15 - Wed
    # E+17 (13-15), 17:00.
    s, view = await opened(ts_env, worker, CP_IN, at(easter - timedelta(days=6), 10),
                           by="mash-tm", externals=OUT)
    due = at_17(easter + timedelta(days=17))
    assert deadline(view, "conference_by").due_at == due
    await s.act("identify-social-worker", "assessment-tm")
    await skip_to(ts_env, due - MINUTE)
    assert deadline(await s.view(), "conference_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "conference_by").status is DeadlineStatus.missed)
    late = missed("Transfer conference held within 15 working days of the request")
    await expect_mail(mailbox, S, {"da": [PROPOSED, late], "assessment-tm": [PROPOSED, late],
                                   "assessment_teams-hos": [late]})
    assert (await s.view()).responsible_team == "other_authority"
    await told(mailbox, KNOWSLEY, [])


async def test_a_conference_that_makes_no_plan_here_tells_the_other_authority(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, CP_IN, at(monday, 10), by="mash-sw", externals=OUT)
    await s.act("identify-social-worker", "assessment-tm")
    await s.act("arrange-transfer-conference", "da", date=monday + timedelta(days=2))
    await skip_to(ts_env, at(monday + timedelta(days=2), 12))
    assert (await s.refused("record-no-cp-plans", "da"))[0] == "InvalidInput"  # say why
    await s.act("record-no-cp-plans", "da", note="the family stayed in Knowsley")
    view = await s.act("withdraw", "assessment-tm", note="no CP plan made in St Helens")
    assert view.stage is Stage.withdrawn and view.responsible_team == "other_authority"
    answer = "Transfer Child Protection Conference held: its outcome: no_cp_plans"
    withdrawn = "transfer withdrawn"
    await expect_mail(mailbox, S, {"da": [PROPOSED, answer, withdrawn],
                                   "assessment-tm": [PROPOSED, ARRANGED],
                                   "assessment-sw": [ARRANGED],
                                   "mash-tm": [answer, withdrawn]})
    await told(mailbox, KNOWSLEY, [answer, withdrawn])


# ----- Adult Services notified at 14 (the case stays with CWD) -----------------------------------

AT_14 = "cwd-adult-services-notice-at-14"
TURNS_14 = "today: The young person turns 14 (transition notification to Adult Services)"
NOTIFIED = ("Adult Services notified of the transition arrangements by the Transition Social "
            "Worker")


async def test_adult_services_are_notified_when_the_child_turns_14(ts_env, worker, mailbox,
                                                                   directory_engine):
    monday = june_monday(await ts_env.get_current_time())
    thursday = monday + timedelta(days=3)
    s, view = await opened(ts_env, worker, AT_14, at(monday, 10), by="cwd-sw",
                           key_dates={"turns_14": thursday})
    assert (view.from_team, view.to_team) == ("cwd", "adult_services")
    # 14 on Thursday. Five working days: Fri (1), Mon - Thu (2-5): the next Thursday, 17:00.
    assert deadline(view, "notified_by").due_at == at_17(monday + timedelta(days=10))
    await skip_to(ts_env, at(thursday, 0) + MINUTE)
    await settled(s, lambda v: deadline(v, "key_date:turns_14").status is DeadlineStatus.met)
    await expect_mail(mailbox, S, {"cwd-sw": [TURNS_14], "cwd-tm": [TURNS_14]})
    await told(mailbox, ADULTS, [])
    await skip_to(ts_env, at(thursday, 11))
    assert (await s.refused("notify-adult-services", "duty-sw"))[0] == "NotPermitted"
    assert (await s.refused("allocate", "cwd-tm", worker_id="W1"))[0] == "WrongStage"
    view = await s.act("notify-adult-services", "cwd-sw")
    assert view.stage is Stage.closed and view.responsible_team == "cwd"
    assert deadline(view, "notified_by").status is DeadlineStatus.met
    assert completed(view, directory_engine) == [
        "Complete as every required step is done; the case stays with cwd"]
    done = ("complete: Adult Services notified of transition arrangements at 14 (the case "
            "stays with CWD)")
    await expect_mail(mailbox, S, {"cwd-sw": [TURNS_14], "cwd-tm": [TURNS_14, done]})
    await told(mailbox, ADULTS, [NOTIFIED])


async def test_adult_services_not_notified_after_a_christmas_eve_birthday_is_chased(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    # 14 on Christmas Eve (Thu). Five working days: Fri 25 and Mon 28 closed; Tue 29 - Thu 31
    # (1-3); Fri 1 Jan closed; Mon 4 (4), Tue 5 Jan (5), 17:00.
    s, view = await opened(ts_env, worker, AT_14, at(christmas - timedelta(days=7), 10),
                           by="cwd-tm", key_dates={"turns_14": christmas - timedelta(days=1)})
    due = at_17(christmas + timedelta(days=11))
    assert deadline(view, "notified_by").due_at == due
    await skip_to(ts_env, due - MINUTE)
    assert deadline(await s.view(), "notified_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "notified_by").status is DeadlineStatus.missed)
    late = missed("Adult Services notified within 5 working days of the 14th birthday")
    await expect_mail(mailbox, S, {"cwd-sw": [TURNS_14, late], "cwd-tm": [TURNS_14, late]})
    assert (await s.view()).stage is Stage.proposed
    await told(mailbox, ADULTS, [])


# ----- the alert to the Team Manager Care Leavers (the case stays with the Assessment Team) ------

CARE_LEAVERS = "assessment-care-leavers-alert"
ALERTED = "Alert made to the Team Manager Care Leavers"
DISCUSSED = ("Discussed with the Team Manager Care Leavers, allocation of a Personal Advisor "
             "considered")


async def test_a_section_20_case_is_discussed_with_care_leavers_and_stays(
        ts_env, worker, mailbox, directory_engine):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, CARE_LEAVERS, at(monday, 10), by="assessment-tm")
    assert deadline(view, "alert_by").due_at == at_17(monday + timedelta(days=1))
    assert (await s.refused("allocate-personal-advisor", "care_leavers-tm",
                            attendees=["care_leavers_team_manager"]))[0] == "WrongStage"
    view = await s.act("alert-care-leavers", "assessment-tm")
    # Considered within ten working days of the alert (Mon): a fortnight on, Mon 17:00.
    assert deadline(view, "considered_by").due_at == at_17(monday + timedelta(days=14))
    assert (await s.refused("allocate-personal-advisor", "assessment-tm",
                            attendees=["care_leavers_team_manager"]))[0] == "NotPermitted"
    assert (await s.refused("decline-personal-advisor", "care_leavers-tm",
                            attendees=["care_leavers_team_manager"]))[0] == "InvalidInput"
    await skip_to(ts_env, at(monday + timedelta(days=3), 11))
    view = await s.act("allocate-personal-advisor", "care_leavers-tm",
                       attendees=["care_leavers_team_manager", "social_worker"])
    assert view.stage is Stage.closed and view.responsible_team == "assessment"
    assert view.allocated_worker is None
    assert completed(view, directory_engine) == [
        "Complete as every required step is done; the case stays with assessment"]
    await expect_mail(mailbox, S, {"care_leavers-tm": [ALERTED],
                                   "assessment-tm": [f"{DISCUSSED}: allocated"]})


async def test_an_alert_not_made_by_the_next_working_day_over_the_clock_change(
        ts_env, worker, mailbox):
    sunday = clocks_go_back(await ts_env.get_current_time())
    # Identified in supervision Fri 15:00 BST; one working day: Mon, 17:00 GMT.
    s, view = await opened(ts_env, worker, CARE_LEAVERS, at(sunday - timedelta(days=2), 15),
                           by="assessment-tm")
    due = deadline(view, "alert_by")
    assert due.due_at == at_17(sunday + timedelta(days=1)) and due.due_local.endswith("GMT")
    await skip_to(ts_env, due.due_at - MINUTE)
    assert deadline(await s.view(), "alert_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due.due_at + MINUTE)
    await settled(s, lambda v: deadline(v, "alert_by").status is DeadlineStatus.missed)
    late = missed("Alert made to the Team Manager Care Leavers within 1 working day of "
                  "supervision")
    await expect_mail(mailbox, S, {"assessment-tm": [late]})


# ----- Fostering's early alert and joint viability visit (the case stays) -------------------------

ALERT_FOSTERING = "Early alert sent to the Fostering Team Manager by the relevant Team Manager"
FOSTERING_SW = "Fostering Social Worker allocated by the Fostering Team Manager"
VISIT = ["fostering_social_worker", "social_worker", "carers"]


@pytest.mark.parametrize("team", ["duty", "assessment"])
async def test_fostering_is_alerted_and_visits_jointly_and_the_case_stays(
        ts_env, worker, mailbox, directory_engine, team):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, f"{team}-fostering-viability", at(monday, 10),
                           by=f"{team}-sw")
    assert (view.from_team, view.to_team) == (team, "fostering")
    assert deadline(view, "alert_by").due_at == at_17(monday + timedelta(days=1))
    assert (await s.refused("send-fostering-alert", f"{team}-sw"))[0] == "NotPermitted"
    view = await s.act("send-fostering-alert", f"{team}-tm")
    # Ten working days from the alert (Mon): a fortnight on, Mon 17:00.
    assert deadline(view, "joint_visit_by").due_at == at_17(monday + timedelta(days=14))
    refused = await s.refused("record-viability-joint-visit", "fostering-sw", attendees=VISIT)
    assert refused[0] == "WrongStage"  # the Fostering Social Worker is allocated first
    await s.act("allocate-fostering-social-worker", "fostering-tm")
    await skip_to(ts_env, at(monday + timedelta(days=4), 10))
    refused = await s.refused("record-viability-joint-visit", "fostering-sw",
                              attendees=["social_worker", "carers"])
    assert refused[0] == "InvalidInput" and "fostering_social_worker" in refused[1]
    view = await s.act("record-viability-joint-visit", "fostering-sw", attendees=VISIT)
    assert view.stage is Stage.closed and view.responsible_team == team
    assert deadline(view, "joint_visit_by").status is DeadlineStatus.met
    assert completed(view, directory_engine) == [
        f"Complete as every required step is done; the case stays with {team}"]
    done = f"complete: {s.pathway.title}"
    await expect_mail(mailbox, S, {f"{team}-tm": [FOSTERING_SW, done],
                                   "fostering-tm": [ALERT_FOSTERING, done]})


@pytest.mark.parametrize("team", ["duty", "assessment"])
async def test_a_joint_viability_visit_not_made_over_easter_is_chased(ts_env, worker, mailbox,
                                                                      team):
    easter = early_easter(await ts_env.get_current_time())
    # Assessment completed and alert sent on Maundy Thursday. Ten working days: Good Friday
    # and Easter Monday closed; Tue E+2 - Fri E+5 (1-4); Mon E+8 - Fri E+12 (5-9); Mon E+15
    # (10), 17:00.
    s, view = await opened(ts_env, worker, f"{team}-fostering-viability",
                           at(easter - timedelta(days=3), 10), by=f"{team}-tm")
    view = await s.act("send-fostering-alert", f"{team}-tm")
    due = at_17(easter + timedelta(days=15))
    assert deadline(view, "joint_visit_by").due_at == due
    await skip_to(ts_env, due - MINUTE)
    assert deadline(await s.view(), "joint_visit_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "joint_visit_by").status is DeadlineStatus.missed)
    late = missed("Joint viability visit within 10 working days of the alert")
    await expect_mail(mailbox, S, {f"{team}-tm": [late], "fostering-tm": [ALERT_FOSTERING, late]})
    assert (await s.view()).responsible_team == team


# ----- the SGO assessment allocated by the Adoption Team Manager (the case stays) -----------------

ALERT_ADOPTION = "Early alert sent to the Adoption Team Manager"
SGO_ALLOCATED = "SGO assessment allocated to an Adoption Social Worker by the Adoption Team Manager"


@pytest.mark.parametrize("team", ["assessment", "permanence"])
async def test_the_sgo_assessment_is_allocated_and_the_case_stays(ts_env, worker, mailbox,
                                                                  directory_engine, team):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, f"{team}-sgo-assessment-by-adoption", at(monday, 10),
                           by=f"{team}-tm")
    assert (view.from_team, view.to_team) == (team, "adoption")
    assert (await s.refused("allocate-sgo-assessment", "adoption-tm"))[0] == "WrongStage"
    view = await s.act("send-sgo-alert", f"{team}-tm")
    assert deadline(view, "sgo_allocated_by").due_at == at_17(monday + timedelta(days=1))
    assert (await s.refused("allocate-sgo-assessment", f"{team}-tm"))[0] == "NotPermitted"
    assert (await s.refused("allocate", "adoption-tm", worker_id="W1"))[0] == "WrongStage"
    view = await s.act("allocate-sgo-assessment", "adoption-tm")
    assert view.stage is Stage.closed and view.responsible_team == team
    assert view.allocated_worker is None
    assert completed(view, directory_engine) == [
        f"Complete as every required step is done; the case stays with {team}"]
    await expect_mail(mailbox, S, {"adoption-tm": [ALERT_ADOPTION],
                                   f"{team}-tm": [SGO_ALLOCATED]})


@pytest.mark.parametrize("team", ["assessment", "permanence"])
async def test_an_sgo_assessment_alerted_on_christmas_eve_and_not_allocated_is_chased(
        ts_env, worker, mailbox, team):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    # Alerted Christmas Eve (Thu) 15:00. One working day: Fri 25 and Mon 28 closed: Tue 29
    # Dec, 17:00.
    s, view = await opened(ts_env, worker, f"{team}-sgo-assessment-by-adoption",
                           at(christmas - timedelta(days=1), 15), by=f"{team}-sw")
    view = await s.act("send-sgo-alert", f"{team}-tm")
    due = at_17(christmas + timedelta(days=4))
    assert deadline(view, "sgo_allocated_by").due_at == due
    assert deadline(view, "alert_by").status is DeadlineStatus.met
    await skip_to(ts_env, due - MINUTE)
    assert deadline(await s.view(), "sgo_allocated_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "sgo_allocated_by").status is DeadlineStatus.missed)
    late = missed("SGO assessment allocated within 1 working day of the alert")
    await expect_mail(mailbox, S, {"adoption-tm": [ALERT_ADOPTION, late], f"{team}-tm": [late]})
