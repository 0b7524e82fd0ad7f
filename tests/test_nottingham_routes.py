"""Nottingham's procedure (seed 002), part 2: the internal routes issue 9 adds.

Early Help / TFST / BIT back to Children's Duty when concerns escalate (started by the team
that holds the case, or by the MASH on an agency's contact); TFST on to BIT or the parenting
team (the original Social Work Team Manager agreeing); the urgent Section 47 route from Early
Help / TFST to Fieldwork, which moves at once; and the route back to TFST / Early Help when
the threshold for Children's Social Work is not met. Each: a happy path (the gates done by
the right roles, the case moves and is allocated) and a refusal or breach path.

The seed gives none of these routes a timescale, so they have no clock of their own; the
disagreement ladder (Service Managers 24 hours, the relevant Heads of Service a further 24
hours, elapsed) is walked across the October clock change. Dates come from the
time-skipping server's present (next June, next October), so they hold on any day the suite
runs. Emails are checked exactly: who got which.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.transfer import Stage
from tests.scenario import settled
from tests.seed_scenes import june_monday
from tests.test_nottingham_seed_rules import (
    autumn,
    do,
    gate_of,
    local,
    mail,
    minute,
    opened,
    utc,
    walk,
)
from tests.transfers import skip_to

STARTED = "transfer proposed to your team"
LADDER = "Disagreement about the transfer"
ALLOCATED = "worker W1 allocated"


def moved(team: str) -> str:
    return f"case transferred to {team}"


# ----- Early Help / TFST / BIT -> Children's Duty -------------------------------------------

@pytest.mark.parametrize("sending", ["early_help", "tfst", "bit"])
async def test_concerns_escalate_the_case_goes_back_to_duty(ts_env, worker, mailbox, sending):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, f"{sending.replace('_', '-')}-to-duty",
                           local(monday, 9))
    assert view.deadlines == []  # the seed gives no timescale: none is invented
    # Only a manager records the threshold met; Duty decides only after it.
    assert (await s.refused("record-threshold-met", f"{sending}-sw"))[0] == "NotPermitted"
    assert (await s.refused("accept", "duty-tm"))[0] == "WrongStage"
    await walk(ts_env, s, [("record-threshold-met", f"{sending}-tm"),
                           ("complete-checklist", f"{sending}-tm")])
    assert (await s.refused("accept", "duty-sw"))[0] == "NotPermitted"
    view = await do(ts_env, s, "accept", "duty-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "duty")
    view = await s.act("allocate", "duty-tm", worker_id="W1")
    assert view.stage is Stage.closed  # allocated, and nothing follows on this route
    await mail(mailbox, {"duty-tm": [STARTED, moved("duty")],
                         f"{sending}-tm": ["Duty Team Manager's decision: accepted",
                                           moved("duty"), ALLOCATED]})


async def test_the_mash_moves_an_open_tfst_case_to_duty_on_an_agency_s_contact(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "tfst-to-duty", local(monday + timedelta(days=1), 10),
                        by="mash-tm")
    # The MASH Team Manager records the threshold met; the MASH social worker may not.
    assert (await s.refused("record-threshold-met", "mash-sw"))[0] == "NotPermitted"
    await walk(ts_env, s, [("record-threshold-met", "mash-tm"),
                           ("complete-checklist", "tfst-tm")])
    assert gate_of(await s.view(), "threshold_met").done
    view = await do(ts_env, s, "accept", "duty-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "duty")
    await mail(mailbox, {"duty-tm": [STARTED, moved("duty")],
                         "tfst-tm": ["Duty Team Manager's decision: accepted", moved("duty")]})


async def test_duty_disputes_the_relevant_heads_of_service_have_the_second_24_hours(
        ts_env, worker, mailbox):
    # Disputed at 10:00 BST (09:00 UTC) on the Saturday before the clocks go back: the Service
    # Managers' 24 elapsed hours end at 09:00 GMT on Sunday (an hour earlier on the wall
    # clock than the dispute was raised), the Heads of Service's at 09:00 GMT on Monday.
    sunday = autumn(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "bit-to-duty", local(sunday - timedelta(days=2), 15))
    await walk(ts_env, s, [("record-threshold-met", "bit-tm"), ("complete-checklist", "bit-tm")])
    await skip_to(ts_env, local(sunday - timedelta(days=1), 10))
    view = await s.act("dispute", "duty-tm", note="Threshold not met for a Children's Assessment")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "bit")
    assert view.dispute is not None and minute(view.dispute.level_due_at) == utc(sunday, 9)
    await skip_to(ts_env, utc(sunday, 9, 1))
    view = await settled(s, lambda v: v.escalation_level == 2)
    assert view.dispute is not None and minute(view.dispute.level_due_at) == utc(
        sunday + timedelta(days=1), 9)
    await skip_to(ts_env, utc(sunday + timedelta(days=1), 9, 1))
    view = await settled(s, lambda v: v.dispute is not None and v.dispute.level_due_at is None)
    assert (view.stage, view.responsible_team) == (Stage.disputed, "bit")
    # BIT is in Early Help and Targeted Family Support, Duty in Children's Social Care.
    told = [f"dispute escalated to you: {LADDER}",
            f"dispute not resolved within 48 hours: {LADDER}"]
    await mail(mailbox, {"duty-tm": [STARTED],
                         "bit-sm": [f"dispute referred to you: {LADDER}"],
                         "duty-sm": [f"dispute referred to you: {LADDER}"],
                         "early_help_services-hos": told, "childrens_social_care-hos": told})


# ----- TFST -> BIT / the parenting team -------------------------------------------------------

async def test_tfst_to_bit_needs_the_original_social_work_team_manager(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "tfst-to-bit", local(monday, 11))
    view = await s.act("record-case-from-social-care", "tfst-tm", team="duty")
    assert view.parties == {"original_team": "duty"}
    await walk(ts_env, s, [("agree-transfer", "bit-tm"), ("agree-transfer", "tfst-tm"),
                           ("complete-checklist", "tfst-tm")])
    view = await s.view()
    assert (view.stage, view.responsible_team) == (Stage.proposed, "tfst")  # not yet agreed
    # Only the Team Manager of the team that made the original decision agrees, with why.
    assert (await s.refused("agree-move-on", "fieldwork-tm", note="x"))[0] == "NotPermitted"
    assert (await s.refused("agree-move-on", "duty-sw", note="x"))[0] == "NotPermitted"
    view = await s.act("agree-move-on", "duty-tm", note="Brief intervention is enough")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "bit")
    title = s.pathway.gates["joint_decision"].title
    origin = s.pathway.gates["case_origin"].title
    await mail(mailbox, {
        "bit-tm": [STARTED, moved("bit")],
        "tfst-tm": [f"your agreement is needed: {title}", moved("bit")],
        "duty-tm": [f"{origin}: from_social_care"]})


async def test_tfst_to_the_parenting_team_one_manager_cannot_decide_alone(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "tfst-to-parenting", local(monday, 11))
    await walk(ts_env, s, [("record-case-not-from-social-care", "tfst-tm"),
                           ("complete-checklist", "tfst-tm"), ("agree-transfer", "tfst-tm")])
    view = await s.view()
    assert gate_of(view, "original_team_agrees").not_needed
    assert gate_of(view, "joint_decision").awaiting == ["Team Manager of parenting"]
    assert (view.stage, view.responsible_team) == (Stage.proposed, "tfst")
    assert (await s.refused("agree-transfer", "parenting-sw"))[0] == "NotPermitted"
    view = await s.act("agree-transfer", "parenting-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "parenting")
    view = await s.act("allocate", "parenting-tm", worker_id="W1")
    title = s.pathway.gates["joint_decision"].title
    await mail(mailbox, {"parenting-tm": [STARTED, f"your agreement is needed: {title}",
                                          moved("parenting")],
                         "tfst-tm": [moved("parenting"), ALLOCATED]})


# ----- immediate child protection concerns: Section 47, at once -------------------------------

@pytest.mark.parametrize("sending", ["tfst", "early_help"])
async def test_section_47_moves_the_case_at_once(ts_env, worker, mailbox, sending):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, f"{sending.replace('_', '-')}-to-fieldwork-section-47",
                           local(monday + timedelta(days=2), 16))
    assert view.deadlines == []
    assert {g.id for g in view.gates} == {"section_47_taken", "checklist",
                                         "checklist_difficulties"}  # no co-working, joint
    # visit or joint decision to wait for (the checklist's difficulties never hold it up)
    assert (await s.refused("take-section-47", f"{sending}-tm"))[0] == "NotPermitted"
    assert (await s.refused("take-section-47", "fieldwork-sw"))[0] == "NotPermitted"
    view = await s.act("take-section-47", "fieldwork-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "fieldwork")
    assert not gate_of(view, "checklist").done  # the checklist never held it up
    view = await s.act("allocate", "fieldwork-tm", worker_id="W1")
    assert [t.id for t in view.tasks if not t.done] == ["planning_discussion"]
    await do(ts_env, s, "complete-checklist", f"{sending}-tm")  # recorded after the move
    view = await s.act("record-planning-discussion", f"{sending}-sw")
    assert all(t.done for t in view.tasks)
    taken = s.pathway.gates["section_47_taken"].title
    await mail(mailbox, {"fieldwork-tm": [STARTED, moved("fieldwork")],
                         f"{sending}-tm": [f"{taken}: taken", moved("fieldwork"),
                                           ALLOCATED]})


# ----- threshold not met: back to TFST / Early Help -----------------------------------------

@pytest.mark.parametrize("receiving", ["tfst", "early_help"])
async def test_threshold_not_met_the_case_goes_back(ts_env, worker, mailbox, receiving):
    monday = june_monday(await ts_env.get_current_time())
    pathway = f"fieldwork-to-{receiving.replace('_', '-')}-threshold-not-met"
    s, _ = await opened(ts_env, worker, pathway, local(monday + timedelta(days=3), 9))
    # The social worker's own Closure summary; the receiving Specialist/Manager takes it back.
    assert (await s.refused("record-closure-summary", "fieldwork-tm"))[0] == "NotPermitted"
    await walk(ts_env, s, [("record-closure-summary", "fieldwork-sw"),
                           ("complete-checklist", "fieldwork-sw")])
    assert (await s.refused("accept", f"{receiving}-sw"))[0] == "NotPermitted"
    view = await do(ts_env, s, "accept", f"{receiving}-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, receiving)
    view = await s.act("allocate", f"{receiving}-tm", worker_id="W1")
    assert [t.id for t in view.tasks if not t.done] == ["episode"]
    assert (await s.refused("record-episode", "fieldwork-tm"))[0] == "NotPermitted"
    view = await s.act("record-episode", f"{receiving}-tm")
    assert all(t.done for t in view.tasks)
    decision = s.pathway.gates["accepted"].title
    await mail(mailbox, {f"{receiving}-tm": [STARTED, moved(receiving)],
                         "fieldwork-tm": [f"{decision}: accepted", moved(receiving),
                                          ALLOCATED]})
